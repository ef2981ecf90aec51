import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { decideAccess, servesAudience } from './access.js';
import { parseBearerToken } from './bearer.js';
import type { AuthorizerConfig } from './config.js';
import { AuthError, type ReasonCode } from './errors.js';
import { type AuthorizationRequest, normalizeEvent } from './events.js';
import { type ExecuteApiArn, parseExecuteApiArn } from './execute-api-arn.js';
import { authorizerContext, buildPolicy } from './policy.js';
import type { RouteTable } from './route-table.js';
import type { TokenVerifier } from './token-verifier.js';

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
  return async function authorize(event: unknown): Promise<Decision> {
    let request: AuthorizationRequest | undefined;
    let arn: ExecuteApiArn | undefined;
    try {
      request = normalizeEvent(event);
      arn = parseExecuteApiArn(request.arn);
      const token = parseBearerToken(request.authorization, config.maxTokenBytes);
      const { claims, kid } = await verifier.verify(token);
      if (!servesAudience(routes, claims)) {
        throw new AuthError('audience_mismatch', `"aud" names no API this gateway serves`);
      }
      const access = decideAccess(routes, claims, arn.method, arn.path);
      return {
        outcome: access.allowed ? 'allow' : 'deny',
        reason: access.reason,
        detail: undefined,
        result: buildPolicy(claims.subject, arn.stagePrefix, access.permitted, authorizerContext(claims)),
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
