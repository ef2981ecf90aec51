import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { decideAccess, permittedRoutes, servesAudience } from './access.js';
import { parseBearerToken } from './bearer.js';
import type { AuthorizerConfig } from './config.js';
import { AuthError, type ReasonCode } from './errors.js';
import { type AuthorizationRequest, normalizeEvent } from './events.js';
import { type ExecuteApiArn, parseExecuteApiArn } from './execute-api-arn.js';
import { authorizerContext, buildPolicy } from './policy.js';
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
    route: arn ? `${arn.method} ${arn.path}` : undefined, sub: undefined, clientId: undefined, kid: undefined,
  };
}

/**
 * Builds the decision function once per container. Every failure path, expected or not, ends
 * in a refusal: nothing here can turn an exception into an allow.
 */
export function createAuthorizer({ config, routes, verifier }: AuthorizerDependencies) {
  // Permitted routes and policies depend only on the token (and the stage), so a token the
  // verifier remembers (the same object back from its decision cache) reuses what was built for it.
  const derived = new WeakMap<VerifiedToken, { permitted: Route[]; policies: Map<string, APIGatewayAuthorizerResult> }>();
  const derive = (verified: VerifiedToken) => {
    let entry = derived.get(verified);
    if (entry === undefined) derived.set(verified, (entry = { permitted: permittedRoutes(routes, verified.claims), policies: new Map() }));
    return entry;
  };

  return async function authorize(event: unknown): Promise<Decision> {
    let request: AuthorizationRequest | undefined;
    let arn: ExecuteApiArn | undefined;
    try {
      request = normalizeEvent(event);
      arn = parseExecuteApiArn(request.arn);
      const token = parseBearerToken(request.authorization, config.maxTokenBytes);
      const verified = await verifier.verify(token);
      const { claims, kid } = verified;
      if (!servesAudience(routes, claims)) {
        throw new AuthError('audience_mismatch', `"aud" names no API this gateway serves`);
      }
      const { permitted, policies } = derive(verified);
      const access = decideAccess(routes, claims, permitted, arn.method, arn.path);
      let policy = policies.get(arn.stagePrefix);
      if (policy === undefined) {
        policy = buildPolicy(claims.subject, arn.stagePrefix, permitted, authorizerContext(claims));
        policies.set(arn.stagePrefix, policy);
      }
      return {
        outcome: access.allowed ? 'allow' : 'deny',
        reason: access.reason,
        detail: undefined,
        // A copy: the caller owns what it gets (serverless offline, for one, rewrites `context`).
        result: { ...policy },
        api: request.api,
        route: `${arn.method} ${access.route?.path ?? arn.path}`,
        sub: claims.subject,
        clientId: claims.clientId,
        kid,
      };
    } catch (error) {
      return refusal(request, arn, error);
    }
  };
}
