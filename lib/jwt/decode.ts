import { AuthError } from '../errors.js';

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

// Tokens from one issuer share a handful of headers ({alg, typ, kid}); parsing each once saves
// a JSON.parse per request. Bounded: a flood of distinct headers only costs the parse.
const HEADER_CACHE_SIZE = 32;
const headerCache = new Map<string, JsonObject>();

function parseJsonObject(segment: string, what: string): JsonObject {
  // Buffer's decoder silently skips invalid characters, but the pattern above already allowed
  // only base64url ones; a length of 1 mod 4 can never come from encoding whole bytes.
  if (segment.length % 4 === 1) throw new AuthError('token_malformed', `${what} is not base64url`);
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

function parseHeader(segment: string): JsonObject {
  const cached = headerCache.get(segment);
  if (cached !== undefined) return cached;
  const header = Object.freeze(parseJsonObject(segment, 'header'));
  if (headerCache.size >= HEADER_CACHE_SIZE) headerCache.delete(headerCache.keys().next().value as string);
  headerCache.set(segment, header);
  return header;
}

/**
 * Splits a compact JWS into its parts. Decoding proves nothing: callers must verify the
 * signature before trusting any claim.
 */
export function decodeJwt(token: string): DecodedJwt {
  if (!COMPACT_JWS.test(token)) {
    const parts = token.split('.').length;
    throw new AuthError('token_malformed', parts === 3 ? 'a segment is not base64url' : `expected 3 dot-separated parts, got ${parts}`);
  }
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  const signaturePart = token.slice(secondDot + 1);
  if (signaturePart.length % 4 === 1) throw new AuthError('token_malformed', 'signature is not base64url');
  return {
    header: parseHeader(token.slice(0, firstDot)),
    payload: parseJsonObject(token.slice(firstDot + 1, secondDot), 'payload'),
    signingInput: token.slice(0, secondDot),
    signature: Buffer.from(signaturePart, 'base64url'),
  };
}
