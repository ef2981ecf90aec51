import { AuthError } from '../errors.js';
import type { JsonObject } from './decode.js';
import { type ScopeClaim, grantedScopes } from './scopes.js';

export type TokenUse = 'user' | 'client';

/** What a verified token says, in the shape the rest of the authorizer needs. */
export interface TokenClaims {
  issuer: string;
  subject: string;
  audiences: string[];
  expiresAt: number;
  clientId: string | undefined;
  scopes: Set<string>;
  /** `client` for a client-credentials token (no user involved), else `user`. */
  tokenUse: TokenUse;
}

export interface ClaimRules {
  issuer: string;
  /** Seconds since the epoch. */
  now: number;
  clockToleranceSeconds: number;
  scopeClaims: readonly ScopeClaim[];
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

/**
 * RFC 9068 §2.2: a token obtained without a resource owner (client credentials) names the client
 * in `sub`. Auth0 marks such tokens with `gty: client-credentials` and a `sub` of `<id>@clients`.
 */
function tokenUseOf(payload: JsonObject, subject: string, clientId: string | undefined): TokenUse {
  if (payload['gty'] === 'client-credentials') return 'client';
  if (clientId !== undefined && subject === clientId) return 'client';
  return 'user';
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

  const aud = payload['aud'];
  const audiences = typeof aud === 'string' ? [aud] : aud;
  if (!Array.isArray(audiences) || audiences.length === 0 || !audiences.every((item) => typeof item === 'string')) {
    throw new AuthError('audience_mismatch', '"aud" is missing or not a string or array of strings');
  }

  const subject = optionalString(payload, 'sub');
  if (subject === undefined) throw new AuthError('claim_invalid', '"sub" is required');
  const clientId = optionalString(payload, 'client_id') ?? optionalString(payload, 'azp');

  return {
    issuer: rules.issuer,
    subject,
    audiences: audiences as string[],
    expiresAt,
    clientId,
    scopes: grantedScopes(payload, rules.scopeClaims),
    tokenUse: tokenUseOf(payload, subject, clientId),
  };
}
