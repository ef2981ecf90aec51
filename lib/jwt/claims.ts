import { AuthError } from '../errors.js';
import type { JsonObject } from './decode.js';
import type { IssuerProfile, TokenUse } from './issuer-profile.js';
import { grantedScopes } from './scopes.js';

export type { TokenUse } from './issuer-profile.js';

/** What a verified token says, in the shape the rest of the authorizer needs. */
export interface TokenClaims {
  issuer: string;
  subject: string;
  audiences: string[];
  expiresAt: number;
  clientId: string | undefined;
  scopes: Set<string>;
  /** The issuer profile's answer: `user`, `client` (no user involved) or `unknown`. */
  tokenUse: TokenUse;
  /**
   * The client id that stands in for the missing `aud` (Cognito): matched against the route
   * table's `clientIds`. Undefined for every other profile.
   */
  clientAudience?: string | undefined;
  /** `iat`, when the token has one: revocations "not before" a time compare with it. */
  issuedAt?: number | undefined;
  /** `jti`, when the token has one: one token is revoked by (`iss`, `jti`). */
  tokenId?: string | undefined;
  /**
   * `cnf.jkt`: the token is bound to this key (RFC 9449), and works only with a DPoP proof signed
   * by it. Undefined for a bearer token.
   */
  boundKey?: string | undefined;
}

export interface ClaimRules {
  issuer: string;
  /** Seconds since the epoch. */
  now: number;
  clockToleranceSeconds: number;
  /** The longest an access token may still have to live; a later `exp` is refused. */
  maxLifetimeSeconds: number;
  profile: IssuerProfile;
}

function numericDate(payload: JsonObject, claim: string): number | undefined {
  const value = payload[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new AuthError('claim_invalid', `"${claim}" is not a NumericDate`);
  }
  return value;
}

function optionalString(payload: JsonObject, claim: string): string | undefined {
  const value = payload[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new AuthError('claim_invalid', `"${claim}" is not a non-empty string`);
  return value;
}

/** Checks the registered claims of a token whose signature has been verified. */
export function validateClaims(payload: JsonObject, rules: ClaimRules): TokenClaims {
  if (payload['iss'] !== rules.issuer) throw new AuthError('issuer_mismatch', '"iss" is not the issuer whose key signed the token');

  const tolerance = rules.clockToleranceSeconds;
  const expiresAt = numericDate(payload, 'exp');
  if (expiresAt === undefined) throw new AuthError('claim_invalid', '"exp" is required');
  if (rules.now - tolerance >= expiresAt) throw new AuthError('token_expired', 'the token has expired');
  const notBefore = numericDate(payload, 'nbf');
  if (notBefore !== undefined && notBefore > rules.now + tolerance) throw new AuthError('token_not_yet_valid', '"nbf" is in the future');
  const issuedAt = numericDate(payload, 'iat');
  if (issuedAt !== undefined && issuedAt > rules.now + tolerance) throw new AuthError('iat_in_future', '"iat" is in the future');
  // An `exp` centuries away (1e308) would make a token a credential for life, and keep it in the
  // decision cache until evicted: no provider issues access tokens living longer than days. The
  // lifetime runs from `iat` where there is one, so that a "not before" revocation (of a subject or
  // a client) can expire once every token it matches has.
  if (expiresAt - Math.min(issuedAt ?? rules.now, rules.now) > rules.maxLifetimeSeconds + tolerance) {
    throw new AuthError('claim_invalid', `"exp" is more than ${rules.maxLifetimeSeconds} s after ${issuedAt === undefined ? 'now' : '"iat"'} (AUTH_MAX_TOKEN_LIFETIME_SECONDS)`);
  }

  const { profile } = rules;
  const subject = optionalString(payload, 'sub');
  if (subject === undefined) throw new AuthError('claim_invalid', '"sub" is required');
  let clientId: string | undefined;
  for (const claim of profile.clientIdClaims) if ((clientId = optionalString(payload, claim)) !== undefined) break;

  const { idToken, invalid, tokenUse } = profile.kindOf(payload, subject, clientId);
  if (idToken !== undefined) throw new AuthError('id_token_presented', `an ID token, not an access token: ${idToken}`);
  if (invalid !== undefined) throw new AuthError('claim_invalid', invalid);

  // RFC 7800 confirmation: the token only works together with proof of a key. DPoP's (RFC 9449
  // §6.1, `jkt`) is checked by the authorizer with the request's proof; any other method (mTLS,
  // RFC 8705) cannot be seen from here, and honouring the token without it would drop the binding.
  const cnf = payload['cnf'];
  let boundKey: string | undefined;
  if (cnf !== undefined) {
    const members = typeof cnf === 'object' && cnf !== null && !Array.isArray(cnf) ? Object.keys(cnf) : [];
    const jkt = members.length === 1 && members[0] === 'jkt' ? (cnf as JsonObject)['jkt'] : undefined;
    if (typeof jkt !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(jkt)) {
      throw new AuthError('claim_invalid', `the token is sender-constrained ("cnf" with ${members.map((key) => `"${key}"`).join(', ') || JSON.stringify(cnf)}) in a way this authorizer cannot check: only DPoP's "jkt" (a SHA-256 JWK thumbprint) is`);
    }
    boundKey = jkt;
  }

  const aud = payload['aud'];
  let audiences: string[];
  if (aud === undefined && profile.clientIdAsAudience) {
    if (clientId === undefined) throw new AuthError('audience_missing', `neither "aud" nor "${profile.clientIdClaims.join('" nor "')}" names who the token is for`);
    audiences = [];
  } else if (aud === undefined) {
    throw new AuthError('audience_missing', '"aud" is missing: the token does not say which API it is for');
  } else {
    const list = typeof aud === 'string' ? [aud] : aud;
    if (!Array.isArray(list) || list.length === 0 || !list.every((item) => typeof item === 'string')) {
      throw new AuthError('audience_mismatch', '"aud" is not a string or a non-empty array of strings');
    }
    audiences = list as string[];
  }

  return {
    issuer: rules.issuer,
    subject,
    audiences,
    expiresAt,
    clientId,
    scopes: grantedScopes(payload, profile.scopeClaims),
    tokenUse,
    clientAudience: profile.clientIdAsAudience ? clientId : undefined,
    issuedAt,
    tokenId: optionalString(payload, 'jti'),
    boundKey,
  };
}
