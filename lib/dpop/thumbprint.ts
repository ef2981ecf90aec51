import { createHash } from 'node:crypto';

// RFC 7638 §3.2: the required members of each key type, in lexicographic order.
const REQUIRED_MEMBERS: Record<string, readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
};

/**
 * The JWK SHA-256 thumbprint (RFC 7638), base64url: what a DPoP-bound token's `cnf.jkt` holds
 * (RFC 9449 §6.1). Undefined for a key type without public members to hash, or a member that is
 * not a string.
 */
export function jwkThumbprint(jwk: Record<string, unknown>): string | undefined {
  // Own members only: a kty of "toString" or "__proto__" names no key type.
  const members = typeof jwk['kty'] === 'string' && Object.hasOwn(REQUIRED_MEMBERS, jwk['kty']) ? REQUIRED_MEMBERS[jwk['kty']] : undefined;
  if (members === undefined) return undefined;
  let canonical = '{';
  for (const [index, name] of members.entries()) {
    const value = jwk[name];
    if (typeof value !== 'string') return undefined;
    canonical += `${index === 0 ? '' : ','}"${name}":${JSON.stringify(value)}`;
  }
  return createHash('sha256').update(`${canonical}}`, 'utf8').digest('base64url');
}
