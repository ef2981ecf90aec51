import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { AuthError, type ReasonCode } from '../errors.js';
import type { TokenVerifier, Verification } from '../jwt/token-verifier.js';
import { accessTo } from './access.js';
import { type Credential, parseAuthorization } from './bearer.js';
import type { AuthorizerConfig } from './config.js';
import { dpopRequestOf } from './dpop-request.js';
import { DecisionMemo, type Target } from './decision-memo.js';
import { type AuthorizationRequest, normalizeEvent } from './events.js';
import type { ExecuteApiArn } from './execute-api-arn.js';
import { buildPolicy, ownedResult } from './policy.js';
import type { RevocationRefresher } from '../revocation/revocation-refresher.js';
import { checkTableIssuers, type RouteTable } from './route-table.js';

export type Outcome = 'allow' | 'deny' | 'unauthorized';

/** One decision, with everything an operator needs to understand it and nothing secret. */
export interface Decision {
  outcome: Outcome;
  reason: ReasonCode | undefined;
  /** Operator-facing detail; never contains the token. */
  detail: string | undefined;
  /**
   * What to return to API Gateway; undefined means throw: `Unauthorized` (REST: 401), or, when
   * `retryable`, an error API Gateway answers as an authorizer failure (5xx).
   */
  result: APIGatewayAuthorizerResult | undefined;
  /**
   * The token could not be checked (keys unavailable, a bug): not a verdict on the token. It must
   * not become a cached refusal: API Gateway caches a returned policy per token for the TTL, which
   * would lock the caller out after the outage; a failure returns no policy to cache.
   */
  retryable: boolean;
  api: AuthorizationRequest['api'] | undefined;
  route: string | undefined;
  sub: string | undefined;
  clientId: string | undefined;
  kid: string | undefined;
  /** Whether the decision cache answered (no signature check was needed). */
  cached: boolean;
}

/** The DPoP proof check (lib/dpop's DpopChecker), as the authorizer uses it. */
export interface DpopCheck {
  check(proof: string, expected: { method: string; url: string; accessToken: string; boundKey: string; now: number }): void | Promise<void>;
}

export interface AuthorizerDependencies {
  config: AuthorizerConfig;
  routes: RouteTable;
  verifier: TokenVerifier;
  /** Revocation across the fleet, when it is on. */
  revocations?: RevocationRefresher | undefined;
  /** Gives the DPoP check, loading it on first use: requests without DPoP never load it. */
  dpop?: (() => DpopCheck | Promise<DpopCheck>) | undefined;
  /** Milliseconds since the epoch. */
  now?: () => number;
}

/** Refusals that say nothing about the token: the caller should retry, and nothing may be cached. */
const TRANSIENT: ReadonlySet<ReasonCode> = new Set<ReasonCode>(['jwks_unavailable', 'revocation_unavailable', 'introspection_unavailable', 'dpop_replay_unavailable', 'internal_error']);

function refusal(
  request: AuthorizationRequest | undefined,
  arn: ExecuteApiArn | undefined,
  error: unknown,
): Decision {
  const reason: ReasonCode = error instanceof AuthError ? error.code : 'internal_error';
  const detail = error instanceof Error ? error.message : String(error);
  const retryable = TRANSIENT.has(reason);
  // HTTP APIs turn a thrown error into a 500, so a definitive refusal gets an explicit deny instead.
  const result = request?.api === 'http' && !retryable ? buildPolicy('anonymous', arn?.stagePrefix, [], undefined) : undefined;
  return {
    outcome: 'unauthorized', reason, detail, result, retryable, api: request?.api,
    route: arn ? `${arn.method} ${arn.path}` : undefined, sub: undefined, clientId: undefined, kid: undefined, cached: false,
  };
}

/**
 * Builds the decision function once per container: event → bearer token → verified token →
 * access to the requested route → policy. Every failure path, expected or not, ends in a refusal:
 * nothing here can turn an exception into an allow.
 */
export function createAuthorizer({ config, routes, verifier, revocations, dpop, now = () => Date.now() }: AuthorizerDependencies) {
  checkTableIssuers(routes, config.issuers);
  const memo = new DecisionMemo(routes);
  let dpopCheck: DpopCheck | Promise<DpopCheck> | undefined;

  /** The verdict on the route, for a token whose binding (if any) has been checked. */
  const judge = (request: AuthorizationRequest, target: Target, verification: Verification): Decision => {
    const { claims, kid } = verification.verified;
    const { permissions, context } = memo.grant(verification);
    if (permissions.unserved === 'audience_mismatch') throw new AuthError('audience_mismatch', 'the token is for no API this gateway serves ("aud", or the client id where it stands in for one)');
    if (permissions.unserved === 'issuer_not_allowed') throw new AuthError('issuer_not_allowed', `no API the token is for accepts tokens of ${claims.issuer}`);
    const access = accessTo(target.route, claims, permissions, target.arn.method, target.arn.path);
    return {
      outcome: access.allowed ? 'allow' : 'deny',
      reason: access.reason,
      detail: undefined,
      result: ownedResult(claims.subject, memo.document(target.arn.stagePrefix, permissions), context),
      retryable: false,
      api: request.api,
      route: target.label,
      sub: claims.subject,
      clientId: claims.clientId,
      kid,
      cached: verification.cached,
    };
  };

  /**
   * RFC 9449 §7.1: a bound token only with the DPoP scheme and a proof by its key; the DPoP scheme
   * only with a bound token. Undefined when nothing is left to wait for.
   */
  const checkBinding = (event: Record<string, unknown>, target: Target, credential: Credential, boundKey: string | undefined): void | Promise<void> => {
    if (credential.scheme === 'bearer') {
      if (boundKey !== undefined) throw new AuthError('dpop_proof_required', 'the token is bound to a DPoP key ("cnf.jkt") and was presented as a bearer token: send it as "Authorization: DPoP <token>" with a DPoP proof');
      return undefined;
    }
    if (boundKey === undefined) throw new AuthError('dpop_binding_mismatch', 'the DPoP scheme with a token bound to no key (no "cnf.jkt"): a bearer token is sent as "Authorization: Bearer"');
    // A route behind a caching authorizer: its cached allow would stand in for the next proof.
    if (!config.dpop.onAllRoutes && target.route?.api.requireDpop !== true) {
      throw new AuthError('scheme_invalid', `the DPoP scheme on ${target.route === undefined ? 'a route the table does not know' : `the ${target.route.api.name} API, which does not set "requireDpop"`}: only those APIs' routes sit behind an authorizer with caching off, where each proof is checked (AUTH_DPOP_ON_ALL_ROUTES=true where no route is cached)`);
    }
    if (dpop === undefined) throw new AuthError('internal_error', 'DPoP is not wired into this authorizer');
    const { proof, method, url } = dpopRequestOf(event, target.arn, config.dpop);
    const expected = { method, url, accessToken: credential.token, boundKey, now: Math.floor(now() / 1000) };
    dpopCheck ??= dpop();
    if (!(dpopCheck instanceof Promise)) return dpopCheck.check(proof, expected);
    const loading = dpopCheck;
    return loading.then((loaded) => {
      dpopCheck = loaded;
      return loaded.check(proof, expected);
    }, (error: unknown) => {
      // A failed load is not remembered: the next DPoP request loads again.
      dpopCheck = undefined;
      throw new AuthError('internal_error', `the DPoP check could not be loaded: ${error instanceof Error ? error.message : String(error)}`);
    });
  };

  const decide = (event: Record<string, unknown>, request: AuthorizationRequest, target: Target, credential: Credential, verification: Verification): Decision | Promise<Decision> => {
    try {
      // Every time, remembered or not: a token revoked since it was verified is refused now.
      revocations?.check(verification.verified.claims);
      const bound = checkBinding(event, target, credential, verification.verified.claims.boundKey);
      if (bound === undefined) return judge(request, target, verification);
      return bound.then(() => judge(request, target, verification)).catch((error: unknown) => refusal(request, target.arn, error));
    } catch (error) {
      return refusal(request, target.arn, error);
    }
  };

  /**
   * A decision, or a promise of one when the issuer's keys must be fetched first. Synchronous
   * otherwise (a known key, or a remembered token): no promise is made where nothing is awaited.
   */
  function authorize(event: unknown): Decision | Promise<Decision> {
    let request: AuthorizationRequest | undefined;
    let arn: ExecuteApiArn | undefined;
    try {
      request = normalizeEvent(event);
      const target = memo.target(request.arn);
      arn = target.arn;
      const credential = parseAuthorization(request.authorization, config.maxTokenBytes);
      const verification = verifier.verifyNow(credential.token);
      const knownRequest = request;
      // The revocation list is current (no wait), or a refresh is awaited within its deadline.
      const current = revocations?.whenCurrent();
      // normalizeEvent accepted it: an object.
      const raw = event as Record<string, unknown>;
      if (!(verification instanceof Promise) && current === undefined) return decide(raw, request, target, credential, verification);
      return Promise.all([verification, current]).then(
        ([value]) => decide(raw, knownRequest, target, credential, value),
        (error: unknown) => refusal(knownRequest, target.arn, error),
      );
    } catch (error) {
      return refusal(request, arn, error);
    }
  }
  /** @internal How many entries the memos hold, for tests: each is bounded. */
  authorize.memoSizes = () => memo.sizes();
  return authorize;
}
