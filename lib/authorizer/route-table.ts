/**
 * The route table: which API (audiences, client ids, issuers) owns which routes, and what each
 * route needs. Parsed and validated once; matching and permission checks are pure functions over it.
 */
import { resourcePattern } from './execute-api-arn.js';

export interface Route {
  api: ApiDefinition;
  method: string;
  /** Path template, e.g. `/calendar/v1/events/{id}`. */
  path: string;
  scopes: string[];
  /** The scopes as the token must carry them: `scopes` behind the API's `scopePrefix`. */
  readonly grants: readonly string[];
  requireUser: boolean;
  /** Template split into segments; a parameter segment is `undefined`, a greedy one `'+'`. */
  readonly segments: readonly (string | undefined | '+')[];
  /** How many segments are literals: the more, the more specific the route. */
  readonly literals: number;
  /** The route's position in the whole table: names it in memo keys. */
  readonly index: number;
  /**
   * What the route's IAM resource (after the stage) matches, as IAM matches it: each `*` (a path
   * parameter) is any run of characters, "/" and none included.
   */
  readonly resourceMatcher: RegExp;
}

export interface ApiDefinition {
  name: string;
  /** The API's identifiers as tokens carry them in `aud` (an Entra app has two: its GUID and api://…). */
  audiences: string[];
  /**
   * App client ids whose tokens are for this API when the issuer's profile lets `client_id` stand
   * in for a missing `aud` (Cognito access tokens).
   */
  clientIds: string[];
  /** The issuers whose tokens this API accepts; undefined: every trusted issuer. */
  issuers: string[] | undefined;
  /** Whether this API may share an audience or client id with another API that says so too. */
  shareAudience: boolean;
  /** Prepended to each route scope to give the scope the token carries (Cognito: "<resource server>/"). */
  scopePrefix: string | undefined;
  /** Only DPoP-bound tokens (RFC 9449), each request with its proof; bearer tokens are refused. */
  requireDpop: boolean;
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

const API_KEYS = new Set(['name', 'audience', 'audiences', 'clientIds', 'issuers', 'shareAudience', 'scopePrefix', 'requireDpop', 'function', 'routes']);

/** An optional array of non-empty, distinct strings. */
function stringList(api: Record<string, unknown>, key: string, where: string, what: string): string[] | undefined {
  const value = api[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || !value.every((item) => typeof item === 'string' && item !== '')) {
    throw new RouteTableError(where, `"${key}" must be a non-empty array of strings: ${what}`);
  }
  if (new Set(value).size !== value.length) throw new RouteTableError(where, `"${key}" lists a value twice`);
  return [...value] as string[];
}

function audiencesOf(api: Record<string, unknown>, where: string): string[] {
  const { audience } = api;
  const audiences = stringList(api, 'audiences', where, 'the identifiers tokens carry in "aud"');
  if (audience !== undefined && audiences !== undefined) throw new RouteTableError(where, 'give "audience" or "audiences", not both');
  if (audiences !== undefined) return audiences;
  if (audience === undefined) return [];
  if (typeof audience !== 'string' || audience === '') throw new RouteTableError(where, '"audience" must be a non-empty string (the API identifier tokens carry in "aud")');
  return [audience];
}

/**
 * Two APIs answering to one audience (Okta's default server gives every API "api://default") or
 * one client id can only be told apart by scopes: a token for one would otherwise open the other.
 * Both must say so, every route of theirs needs a scope, and they need no scope in common.
 */
function refuseUnsafeSharing(apis: readonly ApiDefinition[]): void {
  const owners = new Map<string, ApiDefinition[]>();
  for (const api of apis) {
    for (const id of [...api.audiences.map((audience) => `audience "${audience}"`), ...api.clientIds.map((clientId) => `client id "${clientId}"`)]) {
      owners.set(id, [...(owners.get(id) ?? []), api]);
    }
  }
  for (const [id, sharing] of owners) {
    if (sharing.length < 2) continue;
    const names = sharing.map((api) => api.name).join(', ');
    const unwilling = sharing.find((api) => !api.shareAudience);
    if (unwilling !== undefined) {
      throw new RouteTableError(unwilling.name, `${id} is used by two APIs (${names}); if the issuer really gives them one audience, set "shareAudience": true on each, and give every route a scope of its own API`);
    }
    for (const api of sharing) {
      const open = api.routes.find((route) => route.grants.length === 0);
      if (open !== undefined) {
        throw new RouteTableError(`${api.name}: ${open.method} ${open.path}`, `needs no scope, but ${id} is shared by ${names}: scopes are all that keep their tokens apart, so give this route one`);
      }
      for (const other of sharing) {
        if (other === api) continue;
        const common = api.routes.flatMap((route) => route.grants).find((grant) => other.routes.some((route) => route.grants.includes(grant)));
        if (common !== undefined) {
          throw new RouteTableError(`${api.name}`, `scope "${common}" is needed by both ${api.name} and ${other.name}, which share ${id}: a token granted it for one would open the other; name each API's scopes apart (or give one a "scopePrefix")`);
        }
      }
    }
  }
}

/** Validates a route table document. Throws RouteTableError naming the offending entry. */
export function parseRouteTable(document: unknown): RouteTable {
  if (!isObject(document) || !Array.isArray(document['apis']) || document['apis'].length === 0) {
    throw new RouteTableError('', 'must be an object with a non-empty "apis" array');
  }
  const apis: ApiDefinition[] = [];
  const routes: Route[] = [];
  const routeKeys = new Set<string>();
  document['apis'].forEach((rawApi: unknown, apiIndex: number) => {
    const where = `apis[${apiIndex}]`;
    if (!isObject(rawApi)) throw new RouteTableError(where, 'must be an object');
    const { name, function: functionName, routes: rawRoutes } = rawApi;
    if (typeof name !== 'string' || !NAME.test(name)) throw new RouteTableError(where, '"name" must be a lower-case identifier');
    for (const key of Object.keys(rawApi)) {
      if (!API_KEYS.has(key) && !key.startsWith('$')) throw new RouteTableError(where, `"${key}" is not a setting of an API; use ${[...API_KEYS].join(', ')}`);
    }
    const audiences = audiencesOf(rawApi, where);
    const clientIds = stringList(rawApi, 'clientIds', where, 'the app client ids whose tokens are for this API (Cognito)') ?? [];
    if (audiences.length === 0 && clientIds.length === 0) {
      throw new RouteTableError(where, '"audience" must be a non-empty string (the API identifier tokens carry in "aud"), or give "audiences" or "clientIds"');
    }
    const issuers = stringList(rawApi, 'issuers', where, 'the "iss" values whose tokens this API accepts');
    const { shareAudience = false, scopePrefix, requireDpop = false } = rawApi;
    if (typeof shareAudience !== 'boolean') throw new RouteTableError(where, '"shareAudience" must be true or false');
    if (typeof requireDpop !== 'boolean') throw new RouteTableError(where, '"requireDpop" must be true or false');
    if (scopePrefix !== undefined && (typeof scopePrefix !== 'string' || !SCOPE_TOKEN.test(scopePrefix))) {
      throw new RouteTableError(where, '"scopePrefix" must be a non-empty run of scope-token characters, e.g. "https://api.example.com/calendar/"');
    }
    if (functionName !== undefined && (typeof functionName !== 'string' || !NAME.test(functionName))) {
      throw new RouteTableError(where, '"function" must name the Lambda function of this service serving the API (leave it out for an API another stack serves)');
    }
    if (!Array.isArray(rawRoutes) || rawRoutes.length === 0) throw new RouteTableError(where, '"routes" must be a non-empty array');
    const api: ApiDefinition = {
      name, audiences, clientIds, issuers, shareAudience, scopePrefix, requireDpop,
      ...(functionName === undefined ? {} : { function: functionName }), routes: [],
    };
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
      const grants = (scopes as string[]).map((scope) => `${api.scopePrefix ?? ''}${scope}`);
      const resourceMatcher = new RegExp(`^${resourcePattern(method, path).split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
      const route: Route = { api, method, path, scopes: [...scopes] as string[], grants, requireUser, segments, literals, index: routes.length, resourceMatcher };
      api.routes.push(route);
      routes.push(route);
    });
    apis.push(api);
  });
  refuseUnsafeSharing(apis);
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
      // "*" reads a character of the repetition (for anyMore, the same step as stopping it above).
      visit(i, j + 1);
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
      // A route satisfies itself, so it is never checked against itself.
      if (satisfiesAlso(wider, other) || !patternReaches(pattern, requests[index]!)) continue;
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

/**
 * What the table says about issuers must hold for the trusted issuers actually configured: an API
 * naming an issuer that is not trusted, or reached by client id alone where no trusted issuer's
 * profile lets client_id stand in for aud, can never be called; that is a mistake, found at cold start.
 */
export function checkTableIssuers(table: RouteTable, trusted: readonly { issuer: string; profile: { name: string; clientIdAsAudience: boolean } }[]): void {
  for (const api of table.apis) {
    for (const issuer of api.issuers ?? []) {
      if (!trusted.some((item) => item.issuer === issuer)) {
        throw new RouteTableError(api.name, `"issuers" names "${issuer}", which is not a trusted issuer; add it to AUTH_ISSUER (or AUTH_ISSUERS), or correct the table (issuers are compared byte for byte)`);
      }
    }
    const callers = trusted.filter((item) => api.issuers === undefined || api.issuers.includes(item.issuer));
    if (api.audiences.length === 0 && !callers.some((item) => item.profile.clientIdAsAudience)) {
      throw new RouteTableError(api.name, `is reached by "clientIds" alone, but none of its issuers has a profile whose client_id stands in for "aud" (cognito): set that issuer's profile, or give the API its "audiences"`);
    }
  }
}
