import { AuthError } from './errors.js';

export type JsonObject = Record<string, unknown>;

export interface DecodedJwt {
  header: JsonObject;
  payload: JsonObject;
  /** `base64url(header) + "." + base64url(payload)`, the bytes the signature covers. */
  signingInput: string;
  signature: Buffer;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function decodeSegment(segment: string, what: string): Buffer {
  // An empty signature (`alg: none`) decodes to no bytes; the algorithm check refuses it later
  // with a clearer reason than "malformed".
  if (segment === '' && what === 'signature') return Buffer.alloc(0);
  // Buffer's base64url decoder silently skips invalid characters; validate strictly first.
  // A length of 1 mod 4 can never come from encoding whole bytes.
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) {
    throw new AuthError('token_malformed', `${what} is not base64url`);
  }
  return Buffer.from(segment, 'base64url');
}

function decodeJsonObject(segment: string, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(decodeSegment(segment, what).toString('utf8'));
  } catch (error) {
    if (error instanceof AuthError) throw error;
    throw new AuthError('token_malformed', `${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AuthError('token_malformed', `${what} is not a JSON object`);
  }
  return value as JsonObject;
}

/**
 * Splits a compact JWS into its parts. Decoding proves nothing: callers must verify the
 * signature before trusting any claim.
 */
export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  if (parts.length !== 3) {
    throw new AuthError('token_malformed', `expected 3 dot-separated parts, got ${parts.length}`);
  }
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodeJsonObject(headerPart, 'header');
  const payload = decodeJsonObject(payloadPart, 'payload');
  const signature = decodeSegment(signaturePart, 'signature');
  return {
    header,
    payload,
    signingInput: token.slice(0, headerPart.length + 1 + payloadPart.length),
    signature,
  };
}
