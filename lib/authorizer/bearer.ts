import { AuthError } from '../errors.js';

const isBlank = (code: number): boolean => code === 0x20 || code === 0x09;

export type Scheme = 'bearer' | 'dpop';

export interface Credential {
  /** `bearer` (RFC 6750) or `dpop` (RFC 9449 §7.1: a DPoP-bound token, with a proof in the DPoP header). */
  scheme: Scheme;
  token: string;
}

/**
 * Extracts the access token from an Authorization header value: `Bearer` or `DPoP` (any case,
 * RFC 7235 §2.1), one or more spaces, one credential, and optional surrounding whitespace.
 * The credential's characters are not checked here: the JWT decoder checks them strictly
 * (base64url and dots only), and a decision-cache hit is the very string that once passed it.
 * This runs on every request, so it scans the token as little as possible. The size cap is
 * checked before any parsing, so a huge header costs nothing.
 */
export function parseAuthorization(headerValue: unknown, maxTokenBytes: number): Credential {
  if (headerValue === undefined || headerValue === null) {
    throw new AuthError('token_missing', 'no Authorization header');
  }
  // Events are input too: a test console or a hand-written event may carry anything here.
  if (typeof headerValue !== 'string') throw new AuthError('event_invalid', 'the Authorization value in the event is not a string');
  if (headerValue.trim() === '') throw new AuthError('token_missing', 'no Authorization header');
  // Scheme, a space and the token: anything longer cannot hold a token within the cap.
  if (headerValue.length > maxTokenBytes + 32) {
    throw new AuthError('token_too_large', `Authorization header exceeds ${maxTokenBytes} bytes`);
  }
  let start = 0;
  let end = headerValue.length;
  // The header holds a character that is not a blank (the trim check above): both loops stop at it.
  while (isBlank(headerValue.charCodeAt(start))) start += 1;
  while (isBlank(headerValue.charCodeAt(end - 1))) end -= 1;
  let scheme: Scheme;
  if (headerValue.slice(start, start + 6).toLowerCase() === 'bearer' && headerValue.charCodeAt(start + 6) === 0x20) {
    scheme = 'bearer';
    start += 7;
  } else if (headerValue.slice(start, start + 4).toLowerCase() === 'dpop' && headerValue.charCodeAt(start + 4) === 0x20) {
    scheme = 'dpop';
    start += 5;
  } else {
    throw new AuthError('scheme_invalid', 'Authorization header is not a Bearer or DPoP credential');
  }
  // Past `end` (trailing blanks) or the string's end (NaN) this stops too, and the slice is empty.
  while (headerValue.charCodeAt(start) === 0x20) start += 1;
  const token = headerValue.slice(start, end);
  if (token === '') throw new AuthError('scheme_invalid', `Authorization header has the ${scheme === 'bearer' ? 'Bearer' : 'DPoP'} scheme but no credential`);
  if (token.length > maxTokenBytes) {
    throw new AuthError('token_too_large', `token exceeds ${maxTokenBytes} bytes`);
  }
  return { scheme, token };
}

/** The token of a `Bearer` Authorization value; any other scheme is refused (scheme_invalid). */
export function parseBearerToken(headerValue: unknown, maxTokenBytes: number): string {
  const { scheme, token } = parseAuthorization(headerValue, maxTokenBytes);
  if (scheme !== 'bearer') throw new AuthError('scheme_invalid', 'Authorization header is not a bearer credential');
  return token;
}
