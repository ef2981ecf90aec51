import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { AuthError, type ReasonCode } from '../errors.js';
import type { TokenVerifier, Verification } from '../jwt/token-verifier.js';
import { accessTo } from './access.js';
import { parseBearerToken } from './bearer.js';
import type { AuthorizerConfig } from './config.js';
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

export interface AuthorizerDependencies {
  config: AuthorizerConfig;
  routes: RouteTable;
  verifier: TokenVerifier;
  /** Revocation across the fleet, when it is on. */
  revocations?: RevocationRefresher | undefined;
}

/** Refusals that say nothing about the token: the caller should retry, and nothing may be cached. */
const TRANSIENT: ReadonlySet<ReasonCode> = new Set<ReasonCode>(['jwks_unavailable', 'revocation_unavailable', 'introspection_unavailable', 'internal_error']);

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
export function createAuthorizer({ config, routes, verifier, revocations }: AuthorizerDependencies) {
  checkTableIssuers(routes, config.issuers);
  const memo = new DecisionMemo(routes);

  const decide = (request: AuthorizationRequest, target: Target, verification: Verification): Decision => {
    try {
      const { claims, kid } = verification.verified;
      // Every time, remembered or not: a token revoked since it was verified is refused now.
      revocations?.check(claims);
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
      const token = parseBearerToken(request.authorization, config.maxTokenBytes);
      const verification = verifier.verifyNow(token);
      const knownRequest = request;
      // The revocation list is current (no wait), or a refresh is awaited within its deadline.
      const current = revocations?.whenCurrent();
      if (!(verification instanceof Promise) && current === undefined) return decide(request, target, verification);
      return Promise.all([verification, current]).then(
        ([value]) => decide(knownRequest, target, value),
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
