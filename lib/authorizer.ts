import type { APIGatewayAuthorizerResult, PolicyDocument } from 'aws-lambda';
import { decideAccess, permittedRoutes, servesAudience } from './access.js';
import { parseBearerToken } from './bearer.js';
import type { AuthorizerConfig } from './config.js';
import { AuthError, type ReasonCode } from './errors.js';
import { type AuthorizationRequest, normalizeEvent } from './events.js';
import { type ExecuteApiArn, parseExecuteApiArn } from './execute-api-arn.js';
import { authorizerContext, authorizerResult, buildPolicy, ownedCopy, policyDocument } from './policy.js';
import { LruCache } from './lru-cache.js';
import type { Route, RouteTable } from './route-table.js';
import type { TokenVerifier, VerifiedToken } from './token-verifier.js';

export type Outcome = 'allow' | 'deny' | 'unauthorized';

/** One decision, with everything an operator needs to understand it and nothing secret. */
export interface Decision {
  outcome: Outcome;
  reason: ReasonCode | undefined;
  /** Operator-facing detail; never contains the token. */
  detail: string | undefined;
  /** What to return to API Gateway; undefined means throw `Unauthorized` (REST: 401). */
  result: APIGatewayAuthorizerResult | undefined;
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
}

function refusal(
  request: AuthorizationRequest | undefined,
  arn: ExecuteApiArn | undefined,
  error: unknown,
): Decision {
  const reason: ReasonCode = error instanceof AuthError ? error.code : 'internal_error';
  const detail = error instanceof Error ? error.message : String(error);
  // HTTP APIs turn a thrown error into a 500, so they get an explicit deny instead.
  const result = request?.api === 'http' ? buildPolicy('anonymous', arn?.stagePrefix, [], undefined) : undefined;
  return {
    outcome: 'unauthorized', reason, detail, result, api: request?.api,
    route: arn ? `${arn.method} ${arn.path}` : undefined, sub: undefined, clientId: undefined, kid: undefined, cached: false,
  };
}

/**
 * Builds the decision function once per container. Every failure path, expected or not, ends
 * in a refusal: nothing here can turn an exception into an allow.
 */
export function createAuthorizer({ config, routes, verifier }: AuthorizerDependencies) {
  // The permitted routes, and so the policy document, depend only on the token's audiences,
  // scopes and kind (and the stage): tokens of one shape share them. A token the verifier
  // remembers (the same object back from its decision cache) also keeps its whole result.
  type Shape = { permitted: Route[]; documents: Map<string, PolicyDocument> };
  const shapes = new LruCache<string, Shape>(256);
  const perToken = new WeakMap<VerifiedToken, { shape: Shape; results: Map<string, APIGatewayAuthorizerResult> }>();
  const derive = (verified: VerifiedToken) => {
    let derived = perToken.get(verified);
    if (derived === undefined) {
      const { claims } = verified;
      // JSON: unambiguous whatever characters an audience holds.
      const key = JSON.stringify([claims.tokenUse, claims.audiences, [...claims.scopes].sort()]);
      let shape = shapes.get(key);
      if (shape === undefined) shapes.set(key, (shape = { permitted: permittedRoutes(routes, claims), documents: new Map() }));
      perToken.set(verified, (derived = { shape, results: new Map() }));
    }
    return derived;
  };
  const resultFor = (verified: VerifiedToken, stagePrefix: string): { permitted: Route[]; result: APIGatewayAuthorizerResult } => {
    const { shape, results } = derive(verified);
    let result = results.get(stagePrefix);
    if (result === undefined) {
      let document = shape.documents.get(stagePrefix);
      if (document === undefined) shape.documents.set(stagePrefix, (document = policyDocument(stagePrefix, shape.permitted)));
      result = authorizerResult(verified.claims.subject, document, authorizerContext(verified.claims));
      results.set(stagePrefix, result);
    }
    return { permitted: shape.permitted, result };
  };

  const decide = (request: AuthorizationRequest, arn: ExecuteApiArn, verified: VerifiedToken, hitsBefore: number): Decision => {
    try {
      const { claims, kid } = verified;
      if (!servesAudience(routes, claims)) {
        throw new AuthError('audience_mismatch', `"aud" names no API this gateway serves`);
      }
      const { permitted, result: policy } = resultFor(verified, arn.stagePrefix);
      const access = decideAccess(routes, claims, permitted, arn.method, arn.path);
      return {
        outcome: access.allowed ? 'allow' : 'deny',
        reason: access.reason,
        detail: undefined,
        // A deep copy: the caller owns what it gets (serverless offline, for one, rewrites `context`).
        result: ownedCopy(policy),
        api: request.api,
        route: `${arn.method} ${access.route?.path ?? arn.path}`,
        sub: claims.subject,
        clientId: claims.clientId,
        kid,
        cached: verifier.cacheHits !== hitsBefore,
      };
    } catch (error) {
      return refusal(request, arn, error);
    }
  };

  /**
   * A decision, or a promise of one when the issuer's keys must be fetched first. Synchronous
   * otherwise (a known key, or a remembered token): no promise is made where nothing is awaited.
   */
  return function authorize(event: unknown): Decision | Promise<Decision> {
    let request: AuthorizationRequest | undefined;
    let arn: ExecuteApiArn | undefined;
    try {
      request = normalizeEvent(event);
      arn = parseExecuteApiArn(request.arn);
      const token = parseBearerToken(request.authorization, config.maxTokenBytes);
      const hitsBefore = verifier.cacheHits;
      const verified = verifier.verifyNow(token);
      if (!(verified instanceof Promise)) return decide(request, arn, verified, hitsBefore);
      const [knownRequest, knownArn] = [request, arn];
      return verified.then(
        (value) => decide(knownRequest, knownArn, value, hitsBefore),
        (error: unknown) => refusal(knownRequest, knownArn, error),
      );
    } catch (error) {
      return refusal(request, arn, error);
    }
  };
}
