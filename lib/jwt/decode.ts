import { AuthError } from '../errors.js';
import type { LruCache } from '../shared/lru-cache.js';

export type JsonObject = Record<string, unknown>;

export interface DecodedJwt {
  header: JsonObject;
  payload: JsonObject;
  /** `base64url(header) + "." + base64url(payload)`, the bytes the signature covers. */
  signingInput: string;
  signature: Buffer;
}

// Three base64url segments; the signature may be empty so that `alg: none` is refused by the
// algorithm check, with a clearer reason than "malformed".
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
// RFC 7516 §7.1: five base64url segments, the encrypted key and IV may be empty (dir, no IV).
const COMPACT_JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
// RFC 6750 §2.1 b64token characters, as opaque reference tokens are written.
const OPAQUE_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

// The value of each base64url character; -1 elsewhere.
const BASE64URL_VALUES = new Int8Array(128).fill(-1);
for (const [index, char] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].entries()) BASE64URL_VALUES[char.charCodeAt(0)] = index;

/**
 * RFC 4648 §3.5 canonical encoding: a last character that carries fewer than 6 bits of data must
 * have the rest zero. Decoders ignore those bits, so without this check one token has up to 16
 * spellings, each its own API Gateway cache entry and decision-cache entry. (Padding never gets
 * this far: "=" is not in the compact JWS alphabet.)
 */
function isCanonical(segment: string): boolean {
  const spare = segment.length % 4 === 2 ? 0x0f : segment.length % 4 === 3 ? 0x03 : 0;
  // With no spare bits (or an empty segment, whose value is undefined) the mask gives 0.
  return (BASE64URL_VALUES[segment.charCodeAt(segment.length - 1)]! & spare) === 0;
}

function parseJsonObject(segment: string, what: string): JsonObject {
  // Buffer's decoder silently skips invalid characters, but the pattern above already allowed
  // only base64url ones; a length of 1 mod 4 can never come from encoding whole bytes.
  if (segment.length % 4 === 1) throw new AuthError('token_malformed', `${what} is not base64url`);
  if (!isCanonical(segment)) throw new AuthError('token_malformed', `${what} is not canonical base64url (stray bits in its last character)`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new AuthError('token_malformed', `${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AuthError('token_malformed', `${what} is not a JSON object`);
  }
  return value as JsonObject;
}

/** Whether `token` has the shape of a compact JWS (three base64url segments); decodes nothing. */
export function isCompactJws(token: string): boolean {
  return COMPACT_JWS.test(token);
}

/** A header is parsed once per distinct segment when the caller keeps a cache of them. */
function parseHeader(segment: string, cache: LruCache<string, JsonObject> | undefined): JsonObject {
  const cached = cache?.get(segment);
  if (cached !== undefined) return cached;
  const header = Object.freeze(parseJsonObject(segment, 'header'));
  cache?.set(segment, header);
  return header;
}

/**
 * Splits a compact JWS into its parts. Decoding proves nothing: callers must verify the
 * signature before trusting any claim. `headerCache` (the verifier's) holds parsed headers,
 * frozen, by their encoded segment.
 */
export function decodeJwt(token: string, headerCache?: LruCache<string, JsonObject>): DecodedJwt {
  if (!COMPACT_JWS.test(token)) {
    const parts = token.split('.').length;
    // Say what the credential is when it is plainly something else than a JWS, so that an
    // operator sees a configuration problem (opaque tokens, encrypted tokens), not an attack.
    if (parts === 1 && OPAQUE_TOKEN.test(token)) throw new AuthError('token_not_jwt', 'the token is opaque (no dots), not a JWT: this issuer needs introspection, or is configured to issue reference tokens');
    if (COMPACT_JWE.test(token)) throw new AuthError('token_not_jwt', 'the token is a JWE (5 segments: an encrypted JWT), which only its audience can decrypt; have the issuer sign access tokens without encrypting them');
    throw new AuthError('token_malformed', parts === 3 ? 'a segment is not base64url' : `expected 3 dot-separated parts, got ${parts}`);
  }
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  const signaturePart = token.slice(secondDot + 1);
  if (signaturePart.length % 4 === 1) throw new AuthError('token_malformed', 'signature is not base64url');
  if (!isCanonical(signaturePart)) throw new AuthError('token_malformed', 'signature is not canonical base64url (stray bits in its last character)');
  return {
    header: parseHeader(token.slice(0, firstDot), headerCache),
    payload: parseJsonObject(token.slice(firstDot + 1, secondDot), 'payload'),
    signingInput: token.slice(0, secondDot),
    signature: Buffer.from(signaturePart, 'base64url'),
  };
}
