import { AuthError } from './errors.js';

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token. The scheme is case-insensitive
// (RFC 7235 §2.1). Leading/trailing whitespace is optional whitespace the HTTP layer may keep.
const BEARER = /^[ \t]*bearer +([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;

/**
 * Extracts the access token from an Authorization header value.
 * The size cap is checked before any parsing so that a huge header costs nothing.
 */
export function parseBearerToken(headerValue: string | undefined | null, maxTokenBytes: number): string {
  if (headerValue === undefined || headerValue === null || headerValue.trim() === '') {
    throw new AuthError('token_missing', 'no Authorization header');
  }
  // Scheme, a space and the token: anything longer cannot hold a token within the cap.
  if (headerValue.length > maxTokenBytes + 32) {
    throw new AuthError('token_too_large', `Authorization header exceeds ${maxTokenBytes} bytes`);
  }
  const match = BEARER.exec(headerValue);
  if (match === null) {
    throw new AuthError('scheme_invalid', 'Authorization header is not "Bearer <token>"');
  }
  const token = match[1]!;
  if (token.length > maxTokenBytes) {
    throw new AuthError('token_too_large', `token exceeds ${maxTokenBytes} bytes`);
  }
  return token;
}
