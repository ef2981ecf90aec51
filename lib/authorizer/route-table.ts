/**
 * The route table: which API (audience) owns which routes, and what each route needs.
 * Parsed and validated once; matching and permission checks are pure functions over it.
 */
import { resourcePattern } from './execute-api-arn.js';

export interface Route {
  api: ApiDefinition;
  method: string;
  /** Path template, e.g. `/calendar/v1/events/{id}`. */
  path: string;
  scopes: string[];
  requireUser: boolean;
  /** Template split into segments; a parameter segment is `undefined`, a greedy one `'+'`. */
  readonly segments: readonly (string | undefined | '+')[];
  /** How many segments are literals: the more, the more specific the route. */
  readonly literals: number;
  /** The route's position in the whole table: names it in memo keys. */
  readonly index: number;
}

export interface ApiDefinition {
  name: string;
  audience: string;
  /**
   * The function of this service that serves the API (serverless.yml builds its routes from the
   * table); absent for an API another stack serves behind the exported authorizer.
   */
  function?: string;
  routes: Route[];
}

export interface RouteTable {
  apis: ApiDefinition[];
  routes: Route[];
}

export class RouteTableError extends Error {
  constructor(where: string, message: string) {
    super(where === '' ? `route table: ${message}` : `route table ${where}: ${message}`);
    this.name = 'RouteTableError';
  }
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
const LITERAL_SEGMENT = /^[A-Za-z0-9._~-]+$/;
const PARAMETER_SEGMENT = /^\{[A-Za-z0-9_]+(\+)?\}$/;
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const NAME = /^[a-z][A-Za-z0-9-]*$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseSegments(path: string, where: string): Route['segments'] {
  if (!path.startsWith('/')) throw new RouteTableError(where, `path "${path}" must start with "/"`);
  if (path === '/') return [];
  const parts = path.slice(1).split('/');
  return parts.map((part, index) => {
    if (LITERAL_SEGMENT.test(part)) return part;
    const match = PARAMETER_SEGMENT.exec(part);
    if (match === null) throw new RouteTableError(where, `path segment "${part}" is neither a literal nor a {parameter}`);
    if (match[1] === '+') {
      if (index !== parts.length - 1) throw new RouteTableError(where, `greedy parameter "${part}" must be the last segment`);
      return '+';
    }
    return undefined;
  });
}

/** Validates a route table document. Throws RouteTableError naming the offending entry. */
export function parseRouteTable(document: unknown): RouteTable {
  if (!isObject(document) || !Array.isArray(document['apis']) || document['apis'].length === 0) {
    throw new RouteTableError('', 'must be an object with a non-empty "apis" array');
  }
  const apis: ApiDefinition[] = [];
  const routes: Route[] = [];
  const audiences = new Set<string>();
  const routeKeys = new Set<string>();
  document['apis'].forEach((rawApi: unknown, apiIndex: number) => {
    const where = `apis[${apiIndex}]`;
    if (!isObject(rawApi)) throw new RouteTableError(where, 'must be an object');
    const { name, audience, function: functionName, routes: rawRoutes } = rawApi;
    if (typeof name !== 'string' || !NAME.test(name)) throw new RouteTableError(where, '"name" must be a lower-case identifier');
    if (typeof audience !== 'string' || audience === '') throw new RouteTableError(where, '"audience" must be a non-empty string (the API identifier tokens carry in "aud")');
    if (audiences.has(audience)) throw new RouteTableError(where, `audience "${audience}" is used by two APIs`);
    audiences.add(audience);
    if (functionName !== undefined && (typeof functionName !== 'string' || !NAME.test(functionName))) {
      throw new RouteTableError(where, '"function" must name the Lambda function of this service serving the API (leave it out for an API another stack serves)');
    }
    if (!Array.isArray(rawRoutes) || rawRoutes.length === 0) throw new RouteTableError(where, '"routes" must be a non-empty array');
    const api: ApiDefinition = { name, audience, ...(functionName === undefined ? {} : { function: functionName }), routes: [] };
    rawRoutes.forEach((rawRoute: unknown, routeIndex: number) => {
      const routeWhere = `${where}.routes[${routeIndex}]`;
      if (!isObject(rawRoute)) throw new RouteTableError(routeWhere, 'must be an object');
      const { method, path, scopes, requireUser } = rawRoute;
      if (typeof method !== 'string' || !METHODS.has(method)) throw new RouteTableError(routeWhere, `"method" must be one of ${[...METHODS].join(', ')}`);
      if (typeof path !== 'string') throw new RouteTableError(routeWhere, '"path" must be a string');
      const segments = parseSegments(path, routeWhere);
      if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string' && SCOPE_TOKEN.test(scope))) {
        throw new RouteTableError(routeWhere, '"scopes" must be an array of scope tokens (use [] when the audience alone suffices)');
      }
      if (typeof requireUser !== 'boolean') throw new RouteTableError(routeWhere, '"requireUser" must be true or false');
      const shape = `${method} /${segments.map((segment) => segment ?? '{}').join('/')}`;
      if (routeKeys.has(shape)) throw new RouteTableError(routeWhere, `${method} ${path} is declared twice`);
      routeKeys.add(shape);
      const literals = segments.filter((segment) => segment !== undefined && segment !== '+').length;
      const route: Route = { api, method, path, scopes: [...scopes] as string[], requireUser, segments, literals, index: routes.length };
      api.routes.push(route);
      routes.push(route);
    });
    apis.push(api);
  });
  refuseWildcardOverreach(routes);
  return { apis, routes };
}

type PathItem = { literal: string } | { oneOrMore: true; slash: boolean } | { anyMore: true; slash: boolean };

/** A route's concrete requests as items: `{id}` is one or more characters other than "/", `{rest+}` any. */
function requestItems(method: string, segments: Route['segments']): PathItem[] {
  const items: PathItem[] = [...method].map((literal) => ({ literal }));
  if (segments.length === 0) items.push({ literal: '/' });
  for (const segment of segments) {
    items.push({ literal: '/' });
    if (segment === undefined || segment === '+') {
      const slash = segment === '+';
      items.push({ oneOrMore: true, slash }, { anyMore: true, slash });
    } else {
      for (const literal of segment) items.push({ literal });
    }
  }
  return items;
}

/**
 * Whether the IAM resource pattern (after the stage; `*` is any run of characters, "/" included)
 * matches some request the route receives. A search over pairs of positions in both.
 * @internal Exported for its tests; the table check below uses patternReaches directly.
 */
export function resourceReachesRoute(pattern: string, method: string, path: string): boolean {
  return patternReaches(pattern, requestItems(method, parseSegments(path, path)));
}

function patternReaches(pattern: string, items: readonly PathItem[]): boolean {
  const width = items.length + 1;
  const seen = new Uint8Array((pattern.length + 1) * width);
  const stack: number[] = [];
  const visit = (i: number, j: number): void => {
    const state = i * width + j;
    if (seen[state] === 0) {
      seen[state] = 1;
      stack.push(state);
    }
  };
  visit(0, 0);
  while (stack.length > 0) {
    const state = stack.pop()!;
    const i = Math.floor(state / width);
    const j = state % width;
    if (i === pattern.length && j === items.length) return true;
    const glob = pattern[i];
    const item = items[j];
    // Either side may stop repeating without reading a character.
    if (glob === '*') visit(i + 1, j);
    if (item !== undefined && 'anyMore' in item) visit(i, j + 1);
    if (glob === undefined || item === undefined) continue;
    // Both read one character: the pattern's (a literal, or any under "*") and the item's.
    if ('literal' in item) {
      if (glob === '*') visit(i, j + 1);
      else if (glob === item.literal) visit(i + 1, j + 1);
    } else if (glob === '*') {
      if ('oneOrMore' in item) visit(i, j + 1);
    } else if (glob !== '/' || item.slash) {
      visit(i + 1, 'oneOrMore' in item ? j + 1 : j);
    }
  }
  return false;
}

/** Whether every token that may call `wider` may also call `other`. */
function satisfiesAlso(wider: Route, other: Route): boolean {
  return wider.api === other.api
    && other.scopes.every((scope) => wider.scopes.includes(scope))
    && (!other.requireUser || wider.requireUser);
}

/**
 * IAM has no one-segment wildcard: `{id}` becomes `*`, which also matches "/" and so other routes
 * (`GET /events/{id}` covers `GET /events/{id}/attendees`). API Gateway reuses a cached policy on
 * every route, so a token allowed the first would reach the second. Such a table is refused unless
 * whoever may call the wider route may call the other anyway.
 */
function refuseWildcardOverreach(routes: readonly Route[]): void {
  const requests = routes.map((route) => requestItems(route.method, route.segments));
  for (const wider of routes) {
    const pattern = resourcePattern(wider.method, wider.path);
    if (!pattern.includes('*')) continue;
    for (const [index, other] of routes.entries()) {
      if (other === wider || satisfiesAlso(wider, other) || !patternReaches(pattern, requests[index]!)) continue;
      throw new RouteTableError(
        `${wider.api.name}: ${wider.method} ${wider.path}`,
        `its IAM resource "${pattern}" also matches ${other.method} ${other.path} (API ${other.api.name}), which needs `
          + `what a token allowed the first may lack; a cached policy would open it. Give the second route a path the first's `
          + `wildcard cannot reach, or requirements the first already implies (same API, a subset of its scopes).`,
      );
    }
  }
}

function matches(route: Route, method: string, parts: readonly string[]): boolean {
  if (route.method !== method) return false;
  const { segments } = route;
  const greedy = segments[segments.length - 1] === '+';
  if (greedy ? parts.length < segments.length : parts.length !== segments.length) return false;
  for (let index = 0; index < segments.length; index += 1) {
    const segment = segments[index];
    if (segment === '+') return true;
    const part = parts[index]!;
    if (part === '') return false;
    if (segment !== undefined && segment !== part) return false;
  }
  return true;
}

/**
 * The route a concrete request hits. Like API Gateway, a literal segment wins over a parameter.
 * Returns undefined for a request no route declares.
 */
export function findRoute(table: RouteTable, method: string, path: string): Route | undefined {
  const parts = path === '/' ? [] : (path.charCodeAt(0) === 0x2f ? path.slice(1) : path).split('/');
  let best: Route | undefined;
  for (const route of table.routes) {
    if (matches(route, method, parts) && (best === undefined || route.literals > best.literals)) best = route;
  }
  return best;
}
