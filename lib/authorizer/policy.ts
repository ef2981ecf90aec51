import type { APIGatewayAuthorizerResult, PolicyDocument, Statement } from 'aws-lambda';
import type { TokenClaims } from '../jwt/claims.js';
import { routeResource } from './execute-api-arn.js';
import type { Route } from './route-table.js';

export type AuthorizerContext = Record<string, string | number | boolean>;

/**
 * What the backend receives in `requestContext.authorizer`. API Gateway accepts only string,
 * number and boolean values here, so scopes travel as one space-separated string.
 */
export function authorizerContext(claims: TokenClaims): AuthorizerContext {
  const context: AuthorizerContext = {
    sub: claims.subject,
    scope: [...claims.scopes].join(' '),
    tokenUse: claims.tokenUse,
    iss: claims.issuer,
    exp: claims.expiresAt,
  };
  if (claims.clientId !== undefined) context['clientId'] = claims.clientId;
  return context;
}

/**
 * An IAM policy allowing exactly the permitted routes of the requested stage; any route not
 * listed is implicitly denied (403). With nothing permitted, an explicit deny of the whole stage
 * (or of everything, when the request's ARN could not be read).
 */
export function buildPolicy(
  principalId: string,
  stagePrefix: string | undefined,
  permitted: readonly Route[],
  context: AuthorizerContext | undefined,
): APIGatewayAuthorizerResult {
  return authorizerResult(principalId, policyDocument(stagePrefix, permitted), context);
}

/** The policy document alone: the same for every token with the same permitted routes. */
export function policyDocument(stagePrefix: string | undefined, permitted: readonly Route[]): PolicyDocument {
  const statement: Statement = permitted.length > 0 && stagePrefix !== undefined
    ? { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: permitted.map((route) => routeResource(stagePrefix, route.method, route.path)) }
    : { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: [stagePrefix === undefined ? '*' : `${stagePrefix}/*`] };
  return { Version: '2012-10-17', Statement: [statement] };
}

function authorizerResult(principalId: string, document: PolicyDocument, context: AuthorizerContext | undefined): APIGatewayAuthorizerResult {
  const result: APIGatewayAuthorizerResult = { principalId, policyDocument: document };
  if (context !== undefined) result.context = context;
  return result;
}

/**
 * A result of its own around a shared document and context. Documents are shared by every token
 * with the same permitted routes, and a context by every use of a remembered token, so each
 * caller gets copies: a wrapper or an emulator that edits what it received (serverless offline
 * rewrites `context`) must not change what the next request is given.
 */
export function ownedResult(principalId: string, document: PolicyDocument, context: AuthorizerContext): APIGatewayAuthorizerResult {
  return {
    principalId,
    policyDocument: {
      Version: document.Version,
      Statement: document.Statement.map((statement) => {
        const resource = (statement as { Resource?: unknown }).Resource;
        return (Array.isArray(resource) ? { ...statement, Resource: [...resource] as string[] } : { ...statement }) as Statement;
      }),
    },
    context: { ...context },
  };
}
