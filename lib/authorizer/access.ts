/**
 * The one judge of what a token may call: which APIs its audience names, which of their routes it
 * may call, and why a route it may not call is refused. Pure: the same claims and route table
 * always give the same answer.
 */
import type { TokenClaims } from '../jwt/claims.js';
import type { ReasonCode } from '../errors.js';
import type { ApiDefinition, Route, RouteTable } from './route-table.js';

/** What a token may call, whichever route was requested. */
export interface Permissions {
  /** The APIs the token is for and whose issuers include its own; none means it is for no API here. */
  apis: ReadonlySet<ApiDefinition>;
  /** Why `apis` is empty: no API has the token's audience, or those that do refuse its issuer. */
  unserved: 'audience_mismatch' | 'issuer_not_allowed' | undefined;
  /** Every route the token may call, in table order. */
  permitted: readonly Route[];
  /** The permitted routes by their table index: tokens with the same key share a policy document. */
  key: string;
}

export interface AccessDecision {
  /** Whether the requested route is among the permitted ones, and if not, why. */
  allowed: boolean;
  reason: ReasonCode | undefined;
  route: Route | undefined;
}

/** Whether the token is for this API: one of its audiences, or (Cognito) its client id standing in for `aud`. */
function isFor(api: ApiDefinition, claims: TokenClaims): boolean {
  if (claims.audiences.some((audience) => api.audiences.includes(audience))) return true;
  return claims.clientAudience !== undefined && api.clientIds.includes(claims.clientAudience);
}

function acceptsIssuer(api: ApiDefinition, claims: TokenClaims): boolean {
  return api.issuers === undefined || api.issuers.includes(claims.issuer);
}

/** Whether a token for the route's API also has the route's kind and scopes. */
function meetsRoute(route: Route, claims: TokenClaims): boolean {
  if (route.requireUser && claims.tokenUse !== 'user') return false;
  // A bound token reaches the policy only with its proof checked (the authorizer refuses it otherwise).
  if (route.api.requireDpop && claims.boundKey === undefined) return false;
  return route.grants.every((grant) => claims.scopes.has(grant));
}

/**
 * Every route the token may call. API Gateway caches the policy per token and reuses it for other
 * routes, so the policy must be the same whichever route was asked. Only the APIs of the token's
 * audiences are looked at, so a large table costs a request no more than its own API's routes.
 */
export function permissionsOf(table: RouteTable, claims: TokenClaims): Permissions {
  const apis = new Set<ApiDefinition>();
  const permitted: Route[] = [];
  let key = '';
  let issuerRefused = false;
  for (const api of table.apis) {
    if (!isFor(api, claims)) continue;
    if (!acceptsIssuer(api, claims)) {
      issuerRefused = true;
      continue;
    }
    apis.add(api);
    for (const route of api.routes) {
      if (!meetsRoute(route, claims)) continue;
      permitted.push(route);
      key += `${route.index},`;
    }
  }
  const unserved = apis.size > 0 ? undefined : issuerRefused ? 'issuer_not_allowed' : 'audience_mismatch';
  return { apis, unserved, permitted, key };
}

/**
 * The decision for one request (`findRoute`'s answer for it, and its method and path), given what
 * the token may call. It is what the policy does to the request's ARN: IAM's `*` also matches "/"
 * and nothing, so `GET/events/*` covers `/events/`, `/events/x/y` and `/events//x`, which no route
 * template matches; the decision logged and counted must say allow there too, as API Gateway will.
 */
export function accessTo(route: Route | undefined, claims: TokenClaims, permissions: Permissions, method: string, path: string): AccessDecision {
  if (route !== undefined && permissions.permitted.includes(route)) return { allowed: true, reason: undefined, route };
  const resource = `${method}${path}`;
  if (permissions.permitted.some((permitted) => permitted.resourceMatcher.test(resource))) return { allowed: true, reason: undefined, route };
  if (route === undefined) return { allowed: false, reason: 'route_unknown', route };
  return { allowed: false, reason: refusalReason(route, claims, permissions), route };
}

function refusalReason(route: Route, claims: TokenClaims, permissions: Permissions): ReasonCode {
  if (!permissions.apis.has(route.api)) return isFor(route.api, claims) ? 'issuer_not_allowed' : 'audience_mismatch';
  if (route.api.requireDpop && claims.boundKey === undefined) return 'dpop_proof_required';
  if (route.requireUser && claims.tokenUse === 'unknown') return 'token_use_unknown';
  if (route.requireUser && claims.tokenUse !== 'user') return 'user_token_required';
  return 'insufficient_scope';
}
