import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { accessTo, permissionsOf } from '../lib/authorizer/access.js';
import type { TokenClaims } from '../lib/jwt/claims.js';
import { parseExecuteApiArn } from '../lib/authorizer/execute-api-arn.js';
import { authorizerContext, buildPolicy } from '../lib/authorizer/policy.js';
import { findRoute, parseRouteTable, resourceReachesRoute, RouteTableError } from '../lib/authorizer/route-table.js';
import { CALENDAR_AUDIENCE, GEOCODING_AUDIENCE } from './helpers/jwt.js';
import { arnFor, policyAllows, STAGE } from './helpers/policy.js';

const table = parseRouteTable(JSON.parse(readFileSync(new URL('../routes.json', import.meta.url), 'utf8')));

function claims(overrides: Partial<TokenClaims>): TokenClaims {
  return {
    issuer: 'https://issuer.example/', subject: 'usr_123', audiences: [CALENDAR_AUDIENCE], expiresAt: 2000000000,
    clientId: 'calendar-app', scopes: new Set(['read', 'write']), tokenUse: 'user', ...overrides,
  };
}

/** The policy the authorizer would return for this token on this request. */
function policyFor(tokenClaims: TokenClaims, method: string, path: string) {
  const arn = parseExecuteApiArn(arnFor(method, path));
  const permissions = permissionsOf(table, tokenClaims);
  const access = accessTo(findRoute(table, arn.method, arn.path), tokenClaims, permissions);
  return { access, policy: buildPolicy(tokenClaims.subject, arn.stagePrefix, permissions.permitted, authorizerContext(tokenClaims)) };
}

const CALENDAR_ROUTES: [string, string][] = [
  ['GET', '/calendar/v1/events'], ['POST', '/calendar/v1/events'], ['GET', '/calendar/v1/events/e1'],
  ['PUT', '/calendar/v1/events/e1'], ['DELETE', '/calendar/v1/events/e1'],
];
const WRITE_ROUTES = CALENDAR_ROUTES.filter(([method]) => method !== 'GET');
const GEOCODING_ROUTE: [string, string] = ['GET', '/geocoding/v1/reverse'];

describe('route table', () => {
  it('holds the sample table exactly', () => {
    const rows = table.routes.map((route) => `${route.api.audience} ${route.method} ${route.path} [${route.scopes.join(' ')}] user=${route.requireUser}`);
    assert.deepEqual(rows, [
      `${CALENDAR_AUDIENCE} GET /calendar/v1/events [read] user=true`,
      `${CALENDAR_AUDIENCE} POST /calendar/v1/events [write] user=true`,
      `${CALENDAR_AUDIENCE} GET /calendar/v1/events/{id} [read] user=true`,
      `${CALENDAR_AUDIENCE} PUT /calendar/v1/events/{id} [write] user=true`,
      `${CALENDAR_AUDIENCE} DELETE /calendar/v1/events/{id} [write] user=true`,
      `${GEOCODING_AUDIENCE} GET /geocoding/v1/reverse [] user=false`,
    ]);
  });

  it('matches concrete paths and serverless offline template paths, preferring literals', () => {
    assert.equal(findRoute(table, 'GET', '/calendar/v1/events/abc')?.path, '/calendar/v1/events/{id}');
    assert.equal(findRoute(table, 'GET', '/calendar/v1/events/{id}')?.path, '/calendar/v1/events/{id}');
    assert.equal(findRoute(table, 'GET', '/calendar/v1/events')?.path, '/calendar/v1/events');
    assert.equal(findRoute(table, 'GET', '/calendar/v1/events/'), undefined);
    assert.equal(findRoute(table, 'GET', '/calendar/v1/events/a/b'), undefined);
    assert.equal(findRoute(table, 'PATCH', '/calendar/v1/events/a'), undefined);
    const withLiteral = parseRouteTable({ apis: [{ name: 'a', audience: 'x', function: 'a', routes: [
      { method: 'GET', path: '/items/{id}', scopes: [], requireUser: false },
      { method: 'GET', path: '/items/search', scopes: [], requireUser: false },
      { method: 'GET', path: '/files/{path+}', scopes: [], requireUser: false },
    ] }] });
    assert.equal(findRoute(withLiteral, 'GET', '/items/search')?.path, '/items/search');
    assert.equal(findRoute(withLiteral, 'GET', '/files/a/b/c')?.path, '/files/{path+}');
  });

  it('takes an API without "function" as one another stack serves: its routes are authorized like any other', () => {
    const withExternal = parseRouteTable({ apis: [
      { name: 'calendar', audience: 'aud-calendar', function: 'calendar', routes: [{ method: 'GET', path: '/events', scopes: ['read'], requireUser: true }] },
      { name: 'whoami', audience: 'aud-whoami', routes: [{ method: 'GET', path: '/whoami', scopes: [], requireUser: true }] },
    ] });
    assert.equal(withExternal.apis[1]!.function, undefined);
    assert.equal(findRoute(withExternal, 'GET', '/whoami')?.api.name, 'whoami');
  });

  it('rejects malformed tables with an error naming the entry', () => {
    const bad: [unknown, RegExp][] = [
      [{}, /non-empty "apis"/],
      [{ apis: [{ name: 'a', audience: '', function: 'a', routes: [] }] }, /apis\[0\].*audience/],
      [{ apis: [{ name: 'a', audience: 'x', function: 'Calendar Fn', routes: [{ method: 'GET', path: '/a', scopes: [], requireUser: false }] }] }, /apis\[0\].*"function"/],
      [{ apis: [{ name: 'a', audience: 'x', function: null, routes: [{ method: 'GET', path: '/a', scopes: [], requireUser: false }] }] }, /apis\[0\].*"function"/],
      [{ apis: [{ name: 'a', audience: 'x', function: 'a', routes: [{ method: 'FETCH', path: '/a', scopes: [], requireUser: false }] }] }, /routes\[0\].*method/],
      [{ apis: [{ name: 'a', audience: 'x', function: 'a', routes: [{ method: 'GET', path: 'a', scopes: [], requireUser: false }] }] }, /must start with/],
      [{ apis: [{ name: 'a', audience: 'x', function: 'a', routes: [{ method: 'GET', path: '/a', scopes: 'read', requireUser: false }] }] }, /scopes/],
      [{ apis: [{ name: 'a', audience: 'x', function: 'a', routes: [{ method: 'GET', path: '/a', scopes: [] }] }] }, /requireUser/],
      [{ apis: [{ name: 'a', audience: 'x', function: 'a', routes: [{ method: 'GET', path: '/a/{x}', scopes: [], requireUser: false }, { method: 'GET', path: '/a/{y}', scopes: [], requireUser: false }] }] }, /declared twice/],
      [{ apis: [{ name: 'a', audience: 'x', function: 'a', routes: [{ method: 'GET', path: '/a', scopes: [], requireUser: false }] }, { name: 'b', audience: 'x', function: 'b', routes: [{ method: 'GET', path: '/b', scopes: [], requireUser: false }] }] }, /used by two APIs/],
    ];
    for (const [document, message] of bad) assert.throws(() => parseRouteTable(document), (error: unknown) => error instanceof RouteTableError && message.test(error.message));
  });

  it("refuses a table where a parameter's wildcard reaches a route the wider route's callers may not call", () => {
    const route = (method: string, path: string, scopes: string[], requireUser = false) => ({ method, path, scopes, requireUser });
    const api = (name: string, routes: unknown[]) => ({ name, audience: `aud-${name}`, function: name, routes });
    // "GET/events/*" in IAM also matches GET /events/e1/attendees: a read token's cached policy would open it.
    const nested = { apis: [api('a', [route('GET', '/events/{id}', ['read']), route('GET', '/events/{id}/attendees', ['admin'])])] };
    assert.throws(() => parseRouteTable(nested), (error: unknown) => error instanceof RouteTableError
      && /GET \/events\/\{id\}/.test(error.message) && /GET\/events\/\*/.test(error.message) && /GET \/events\/\{id\}\/attendees/.test(error.message));
    // A literal sibling that needs more: API Gateway routes /items/search to it, but "GET/items/*" covers it.
    assert.throws(() => parseRouteTable({ apis: [api('a', [route('GET', '/items/{id}', []), route('GET', '/items/search', ['search'])])] }), RouteTableError);
    // Another API's route under the same prefix: another audience, so never implied.
    assert.throws(() => parseRouteTable({ apis: [api('a', [route('GET', '/shared/{rest+}', [])]), api('b', [route('GET', '/shared/b', [])])] }), /API b/);
    // A user-only route under a route open to client tokens.
    assert.throws(() => parseRouteTable({ apis: [api('a', [route('GET', '/x/{id}', []), route('GET', '/x/{id}/me', [], true)])] }), RouteTableError);
  });

  it('accepts overlaps the wider route already implies, and wildcards that cannot reach another route', () => {
    const route = (method: string, path: string, scopes: string[], requireUser = false) => ({ method, path, scopes, requireUser });
    const ok = [
      // Same API, needs a subset of the scopes: whoever may call the first may call the second.
      [route('GET', '/events/{id}', ['read', 'write'], true), route('GET', '/events/{id}/attendees', ['read'])],
      // Different methods, different suffixes, a literal without a wildcard.
      [route('GET', '/a/{x}/c', ['admin']), route('GET', '/a/{y}/d', []), route('POST', '/a/{x}', ['write']), route('GET', '/a', ['admin'])],
    ];
    for (const routes of ok) assert.doesNotThrow(() => parseRouteTable({ apis: [{ name: 'a', audience: 'aud', function: 'a', routes }] }));
  });
});

describe('resourceReachesRoute (IAM wildcards against real requests)', () => {
  it('tells whether a "*" pattern matches some request a route receives', () => {
    const cases: [string, string, string, boolean][] = [
      ['GET/a/*', 'GET', '/a/b', true], ['GET/a/*', 'GET', '/a/{x}/b', true], ['GET/a/*/c', 'GET', '/a/{y}/d', false],
      ['GET/a/*', 'POST', '/a/b', false], ['GET/a/*', 'GET', '/a', false], ['GET/a/*/b', 'GET', '/a/{x}', false],
      // {x} is one segment, so "/a/*/b" cannot be a request to /a/{x}; a greedy parameter can be. IAM's "*"
      // also matches nothing, so "GET/*" covers the root.
      ['GET/a/*/b', 'GET', '/a/{x+}', true], ['GET/*', 'GET', '/', true], ['GET/*', 'GET', '/x', true],
      ['GET/a*', 'GET', '/ab/{id}', true], ['GET/events', 'GET', '/events', true], ['GET/events', 'GET', '/events/{id}', false],
    ];
    for (const [pattern, method, path, expected] of cases) assert.equal(resourceReachesRoute(pattern, method, path), expected, `${pattern} vs ${method} ${path}`);
  });
});

describe('policy from scopes (safe under the authorizer result cache)', () => {
  it('a read write user token checked on GET events also gets every other calendar route, and no geocoding route', () => {
    const { access, policy } = policyFor(claims({}), 'GET', '/calendar/v1/events');
    assert.equal(access.allowed, true);
    for (const [method, path] of CALENDAR_ROUTES) assert.ok(policyAllows(policy, arnFor(method, path)), `${method} ${path}`);
    assert.ok(!policyAllows(policy, arnFor(...GEOCODING_ROUTE)));
  });

  it('the policy is the same whichever route was requested', () => {
    const first = policyFor(claims({ scopes: new Set(['read']) }), 'GET', '/calendar/v1/events').policy;
    for (const [method, path] of [...CALENDAR_ROUTES, GEOCODING_ROUTE, ['GET', '/nowhere'] as [string, string]]) {
      assert.deepEqual(policyFor(claims({ scopes: new Set(['read']) }), method, path).policy, first);
    }
  });

  it('a read token allows the read routes and no write route', () => {
    const { access, policy } = policyFor(claims({ scopes: new Set(['read']) }), 'POST', '/calendar/v1/events');
    assert.equal(access.allowed, false);
    assert.equal(access.reason, 'insufficient_scope');
    assert.ok(policyAllows(policy, arnFor('GET', '/calendar/v1/events')));
    assert.ok(policyAllows(policy, arnFor('GET', '/calendar/v1/events/e1')));
    for (const [method, path] of WRITE_ROUTES) assert.ok(!policyAllows(policy, arnFor(method, path)), `${method} ${path}`);
  });

  it('a geocoding token never opens a calendar route, whatever its scopes', () => {
    const geocoding = claims({ audiences: [GEOCODING_AUDIENCE], subject: 'backend', clientId: 'backend', tokenUse: 'client', scopes: new Set(['read', 'write']) });
    const { access, policy } = policyFor(geocoding, 'GET', '/calendar/v1/events');
    assert.equal(access.reason, 'audience_mismatch');
    for (const [method, path] of CALENDAR_ROUTES) assert.ok(!policyAllows(policy, arnFor(method, path)));
    assert.ok(policyAllows(policy, arnFor(...GEOCODING_ROUTE)));
  });

  it('a client-credentials token is refused on user-owned routes even with the calendar audience and scopes', () => {
    const client = claims({ tokenUse: 'client' });
    const { access, policy } = policyFor(client, 'GET', '/calendar/v1/events');
    assert.equal(access.reason, 'user_token_required');
    assert.equal(policy.policyDocument.Statement[0]?.Effect, 'Deny');
    for (const [method, path] of CALENDAR_ROUTES) assert.ok(!policyAllows(policy, arnFor(method, path)));
  });

  it('an unknown route is refused but the token keeps its permitted routes', () => {
    const { access, policy } = policyFor(claims({}), 'GET', '/calendar/v1/admin');
    assert.equal(access.reason, 'route_unknown');
    assert.ok(!policyAllows(policy, arnFor('GET', '/calendar/v1/admin')));
  });

  it('the policy is limited to the region, account, API and stage of the request', () => {
    const { policy } = policyFor(claims({}), 'GET', '/calendar/v1/events');
    assert.ok(!policyAllows(policy, arnFor('GET', '/calendar/v1/events', 'arn:aws:execute-api:eu-west-1:123456789012:abc123/dev')));
    assert.ok(!policyAllows(policy, arnFor('GET', '/calendar/v1/events', 'arn:aws:execute-api:eu-west-1:123456789012:other/prod')));
    assert.ok(!policyAllows(policy, arnFor('GET', '/calendar/v1/events', 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod')));
    for (const statement of policy.policyDocument.Statement) {
      for (const resource of [('Resource' in statement ? statement.Resource : [])].flat()) assert.ok(String(resource).startsWith(`${STAGE}/`));
    }
  });

  it('the context holds primitives only', () => {
    const { policy } = policyFor(claims({}), 'GET', '/calendar/v1/events');
    assert.deepEqual(policy.context, { sub: 'usr_123', scope: 'read write', tokenUse: 'user', iss: 'https://issuer.example/', exp: 2000000000, clientId: 'calendar-app' });
    for (const value of Object.values(policy.context ?? {})) assert.ok(['string', 'number', 'boolean'].includes(typeof value));
  });

  it('parses REST, HTTP API and serverless offline ARNs and refuses anything else', () => {
    assert.deepEqual(parseExecuteApiArn('arn:aws:execute-api:us-east-1:123456789012:abc123/$default/GET/geocoding/v1/reverse'),
      { stagePrefix: 'arn:aws:execute-api:us-east-1:123456789012:abc123/$default', method: 'GET', path: '/geocoding/v1/reverse' });
    assert.equal(parseExecuteApiArn('arn:aws:execute-api:us-east-1:random-account-id:random-api-id/dev/GET/calendar/v1/events/{id}').path, '/calendar/v1/events/{id}');
    assert.equal(parseExecuteApiArn('arn:aws-cn:execute-api:cn-north-1:123456789012:abc/prod/GET/').path, '/');
    for (const bad of ['', 'arn:aws:lambda:us-east-1:1:function:x', 'arn:aws:execute-api:us-east-1:1:abc/prod', 'arn:aws:execute-api:us-east-1:1:a*b/prod/GET/x',
      // IAM wildcards in the stage would carry into every resource of the policy and open all stages.
      'arn:aws:execute-api:us-east-1:1:abc/*/GET/x', 'arn:aws:execute-api:us-east-1:1:abc/pr?d/GET/x', 'arn:aws:execute-api:us-east-1:1:abc/$other/GET/x']) {
      assert.throws(() => parseExecuteApiArn(bad));
    }
  });
});
