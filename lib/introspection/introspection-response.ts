/**
 * An RFC 7662 introspection response, read as the claims of a verified token: the same rules as a
 * JWT's (exp, lifetime cap, audience, the issuer profile's token kinds) decide what it grants.
 * Pure: the HTTP call lives in TokenIntrospector.
 */
import { AuthError } from '../errors.js';
import { type ClaimRules, type TokenClaims, validateClaims } from '../jwt/claims.js';
import type { JsonObject } from '../jwt/decode.js';
import type { IssuerProfile } from '../jwt/issuer-profile.js';
import { opaqueTokenId } from './opaque-token-id.js';

// RFC 7662 §2.2 token_type is an RFC 6749 §7.1 access token type; some servers write the RFC 8693
// URI or the hint's spelling instead. A refresh token (which oidc-provider answers with no
// token_type, Keycloak with "typ": "Refresh") must never pass for an access token.
const ACCESS_TOKEN_TYPES = new Set(['bearer', 'dpop', 'access_token', 'urn:ietf:params:oauth:token-type:access_token']);

/** The issuer's profile, reading RFC 7662's own members (`scope`, `client_id`) first. */
export function introspectionProfile(profile: IssuerProfile): IssuerProfile {
  const read: IssuerProfile = {
    ...profile,
    scopeClaims: Object.freeze([...new Set(['scope' as const, ...profile.scopeClaims])]),
    clientIdClaims: Object.freeze([...new Set(['client_id', ...profile.clientIdClaims])]),
    // A JOSE header `typ` does not exist here; token_type is checked instead.
    requireAccessTokenType: false,
    // RFC 7662's `client_id` is in every answer, the user's tokens' too: it is the client (given as
    // clientId), never the evidence of a machine token that the same claim is in a Keycloak
    // service account's JWT. The kind is read from the rest of the answer.
    kindOf: (payload, subject, clientId) => {
      const { client_id: _clientId, ...rest } = payload;
      return profile.kindOf(rest, subject, clientId);
    },
  };
  return Object.freeze(read);
}

/** A response the issuer's server could not have meant: not a verdict on the token (transient). */
function garbage(why: string): AuthError {
  return new AuthError('introspection_unavailable', `the introspection response ${why}`);
}

/**
 * The claims an active response grants, or the refusal: token_inactive for `active: false`, the
 * claim rules' codes for an active response that breaks them, introspection_unavailable for a
 * response that is not an RFC 7662 answer at all. `rules.profile` is the introspection profile.
 */
export function claimsFromIntrospection(response: unknown, token: string, rules: ClaimRules): TokenClaims {
  if (typeof response !== 'object' || response === null || Array.isArray(response)) throw garbage('is not a JSON object');
  const body = response as JsonObject;
  if (typeof body['active'] !== 'boolean') throw garbage('has no boolean "active" (RFC 7662 §2.2 requires it)');
  if (!body['active']) throw new AuthError('token_inactive', 'the issuer says the token is not active (revoked, expired, or never issued)');

  // Keycloak answers with the token's own claims: its payload "typ" says Bearer or Refresh.
  const tokenType = body['token_type'] ?? body['typ'];
  if (tokenType === undefined) {
    throw new AuthError('typ_invalid', 'the active response has no "token_type": refresh tokens are answered so (oidc-provider), and an access token is required');
  }
  if (typeof tokenType !== 'string' || !ACCESS_TOKEN_TYPES.has(tokenType.toLowerCase())) {
    throw new AuthError('typ_invalid', `"token_type" is ${JSON.stringify(tokenType)}, not an access token type (Bearer)`);
  }
  const { active: _active, ...payload } = body;
  // RFC 7662 makes iss optional: the server that answered is the issuer. When it is there, it must say so.
  if (payload['iss'] === undefined) payload['iss'] = rules.issuer;
  // Without `sub`, the token has no resource owner: RFC 9068 §2.2 names the client in `sub` then.
  if (payload['sub'] === undefined && typeof payload['client_id'] === 'string') payload['sub'] = payload['client_id'];
  const claims = validateClaims(payload, rules);
  // A DPoP token names its key in cnf.jkt (RFC 9449 §6.2); without it, no proof could be checked.
  if (typeof tokenType === 'string' && tokenType.toLowerCase() === 'dpop' && claims.boundKey === undefined) {
    throw new AuthError('claim_invalid', 'the issuer says the token is DPoP-bound ("token_type": "DPoP") but names no key ("cnf.jkt")');
  }
  // A response without `jti` (oidc-provider leaves it out when it equals the token) is identified
  // by the token's hash: a revocation of one opaque token never needs the token itself.
  return claims.tokenId === undefined ? { ...claims, tokenId: opaqueTokenId(token) } : claims;
}
