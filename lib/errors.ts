/**
 * Every refusal carries a stable reason code. Codes are part of the public contract: they appear
 * in logs and metrics and operators alert on them, so they never change meaning once released.
 */
export const REASON_CODES = [
  // The Authorization header itself.
  'token_missing',
  'scheme_invalid',
  'token_too_large',
  'token_malformed',
  // A credential that is not a signed JWT at all: an opaque token, or a JWE.
  'token_not_jwt',
  // The JOSE header.
  'alg_not_allowed',
  'header_key_rejected',
  'crit_unsupported',
  'typ_invalid',
  'kid_missing',
  // Keys and signature.
  'kid_unknown',
  'key_unsuitable',
  'signature_invalid',
  'jwks_unavailable',
  // Claims.
  'issuer_mismatch',
  'audience_missing',
  'audience_mismatch',
  // An ID token presented as an access token (OIDC nonce/at_hash, token_use id, typ ID…).
  'id_token_presented',
  'token_expired',
  'token_not_yet_valid',
  'iat_in_future',
  'claim_invalid',
  // DPoP (RFC 9449): a bound token (cnf.jkt) or a route that requires DPoP, without a proof; a proof
  // that fails a check of §4.3; a proof seen before; a proof by another key than the token's, or a
  // proof with a token bound to no key; the replay store could not be asked (transient).
  'dpop_proof_required',
  'dpop_proof_invalid',
  'dpop_proof_replayed',
  'dpop_binding_mismatch',
  'dpop_replay_unavailable',
  // Authorization of the requested route.
  'route_unknown',
  'insufficient_scope',
  'user_token_required',
  // A user-only route, and the issuer's profile cannot tell whether a user is present.
  'token_use_unknown',
  // The route's API does not accept tokens of this issuer (the route table's "issuers").
  'issuer_not_allowed',
  // Revocation: the token, its subject or its client was revoked; or the list is too stale to trust.
  'token_revoked',
  'revocation_unavailable',
  // Introspection (RFC 7662): the issuer says the token is not active; or it could not be asked.
  'token_inactive',
  'introspection_unavailable',
  // The event API Gateway sent us.
  'event_invalid',
  // A bug or an unexpected failure: refused, never allowed.
  'internal_error',
] as const;

export type ReasonCode = (typeof REASON_CODES)[number];

/**
 * A refusal. `message` is for operators (logs), never for clients: API Gateway only ever sees
 * `Unauthorized` or a policy.
 */
export class AuthError extends Error {
  readonly code: ReasonCode;

  constructor(code: ReasonCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthError';
    this.code = code;
  }
}

/** A configuration mistake, found once at cold start. The message names the variable and the fix. */
export class ConfigError extends Error {
  readonly variable: string;

  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}
