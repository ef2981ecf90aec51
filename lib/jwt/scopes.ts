import { AuthError } from '../errors.js';
import type { JsonObject } from './decode.js';

/**
 * Claims that can carry granted scopes: `scope` (RFC 8693 §4.2, RFC 9068: one space-separated
 * string), `scp` (Okta: an array of strings; Entra ID: a space-separated string), `permissions`
 * (Auth0 RBAC: an array) and `roles` (Entra ID app permissions and app roles: an array).
 */
export const SCOPE_CLAIMS = ['scope', 'scp', 'permissions', 'roles'] as const;
export type ScopeClaim = (typeof SCOPE_CLAIMS)[number];

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

function checkScopeToken(value: string, claim: string): string {
  if (!SCOPE_TOKEN.test(value)) {
    throw new AuthError('claim_invalid', `"${claim}" holds a value that is not an RFC 6749 scope token`);
  }
  return value;
}

/**
 * Collects the granted scopes from the configured claims. A claim of the wrong type makes the
 * whole token invalid rather than being ignored: the issuer and we disagree about its meaning.
 */
export function grantedScopes(payload: JsonObject, claims: readonly ScopeClaim[]): Set<string> {
  const scopes = new Set<string>();
  for (const claim of claims) {
    const value = payload[claim];
    if (value === undefined) continue;
    if (claim === 'scope') {
      // `scp` is sometimes a string too (Azure AD); `scope` must always be one.
      if (typeof value !== 'string') throw new AuthError('claim_invalid', '"scope" is not a string');
      for (const item of value.split(' ')) if (item !== '') scopes.add(checkScopeToken(item, claim));
      continue;
    }
    if (typeof value === 'string') {
      if (claim !== 'scp') throw new AuthError('claim_invalid', `"${claim}" is not an array of strings`);
      for (const item of value.split(' ')) if (item !== '') scopes.add(checkScopeToken(item, claim));
      continue;
    }
    if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string')) {
      throw new AuthError('claim_invalid', `"${claim}" is not an array of strings`);
    }
    for (const item of value) scopes.add(checkScopeToken(item, claim));
  }
  return scopes;
}
