import { createHash } from 'node:crypto';

/**
 * The identifier a revocation of one opaque token is keyed on, when the issuer's introspection
 * response names no `jti` (oidc-provider leaves it out when it equals the token): the SHA-256 of
 * the token, base64url, so that the revocations table never holds a token's bytes. The prefix
 * keeps it apart from any `jti` an issuer writes.
 */
export function opaqueTokenId(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('base64url')}`;
}
