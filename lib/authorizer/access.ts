import type { TokenClaims } from '../jwt/claims.js';
import type { ReasonCode } from '../errors.js';
import { type Route, type RouteTable, findRoute } from './route-table.js';

export interface AccessDecision {
  /** Whether the requested route is among the permitted ones, and if not, why. */
  allowed: boolean;
  reason: ReasonCode | undefined;
  route: Route | undefined;
}

/** Whether a token's audience, scopes and kind satisfy one route. */
export function routePermits(route: Route, claims: TokenClaims): boolean {
  if (!claims.audiences.includes(route.api.audience)) return false;
  if (route.requireUser && claims.tokenUse !== 'user') return false;
  return route.scopes.every((scope) => claims.scopes.has(scope));
}

function refusalReason(route: Route, claims: TokenClaims): ReasonCode {
  if (!claims.audiences.includes(route.api.audience)) return 'audience_mismatch';
  if (route.requireUser && claims.tokenUse !== 'user') return 'user_token_required';
  return 'insufficient_scope';
}

/**
 * Every route the token may call, whichever route was requested. API Gateway caches the policy
 * per token and reuses it for other routes, so the policy must be the same for all of them.
 */
export function permittedRoutes(table: RouteTable, claims: TokenClaims): Route[] {
  return table.routes.filter((route) => routePermits(route, claims));
}

/** Decides a request. Pure: the same claims and route table always give the same answer. */
export function decideAccess(table: RouteTable, claims: TokenClaims, permitted: readonly Route[], method: string, path: string): AccessDecision {
  return accessTo(findRoute(table, method, path), claims, permitted);
}

/** decideAccess for a request whose route (`findRoute`'s answer) is already known. */
export function accessTo(route: Route | undefined, claims: TokenClaims, permitted: readonly Route[]): AccessDecision {
  if (route === undefined) return { allowed: false, reason: 'route_unknown', route };
  const allowed = permitted.includes(route);
  return { allowed, reason: allowed ? undefined : refusalReason(route, claims), route };
}
