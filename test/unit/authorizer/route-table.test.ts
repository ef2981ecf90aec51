import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { checkTableIssuers, findRoute, parseRouteTable, resourceReachesRoute, RouteTableError } from '../../../lib/authorizer/route-table.js';
import { CALENDAR_AUDIENCE, GEOCODING_AUDIENCE } from '../../helpers/jwt.js';

const table = parseRouteTable(JSON.parse(readFileSync(new URL('../../../routes.json', import.meta.url), 'utf8')));

describe('route table', () => {
  it('holds the sample table exactly', () => {
    const rows = table.routes.map((route) => `${route.api.audiences.join(',')} ${route.method} ${route.path} [${route.scopes.join(' ')}] user=${route.requireUser}`);
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

describe('route table: audiences, client ids, issuers and shared audiences', () => {
  const route = (method: string, path: string, scopes: string[], requireUser = false) => ({ method, path, scopes, requireUser });
  const refused = (document: unknown, message: RegExp) =>
    assert.throws(() => parseRouteTable(document), (error: unknown) => error instanceof RouteTableError && message.test(error.message), String(message));

  it('reads several audiences, Cognito client ids, issuers and a scope prefix', () => {
    const table = parseRouteTable({ apis: [
      { name: 'entra', audiences: ['6e74172b-be56-4843-9ff4-e66a39bb12e3', 'api://calendar'], routes: [route('GET', '/e', ['Calendar.Read'], true)] },
      { name: 'cognito', clientIds: ['1example23456789'], issuers: ['https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example'], scopePrefix: 'https://calendar.example.com/', routes: [route('GET', '/c', ['read'], true)] },
    ] });
    const [entra, cognito] = table.apis;
    assert.deepEqual(entra!.audiences, ['6e74172b-be56-4843-9ff4-e66a39bb12e3', 'api://calendar']);
    assert.deepEqual(entra!.clientIds, []);
    assert.equal(entra!.issuers, undefined);
    assert.deepEqual(cognito!.audiences, []);
    assert.deepEqual(cognito!.clientIds, ['1example23456789']);
    assert.deepEqual(cognito!.issuers, ['https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example']);
    assert.deepEqual(cognito!.routes[0]!.grants, ['https://calendar.example.com/read']);
    assert.deepEqual(cognito!.routes[0]!.scopes, ['read']);
  });

  it('refuses what would silently widen or narrow access, naming the API and the fix', () => {
    const api = (extra: Record<string, unknown>) => ({ apis: [{ name: 'a', routes: [route('GET', '/a', ['read'])], ...extra }] });
    refused(api({}), /apis\[0\].*"audience".*"clientIds"/);
    refused(api({ audience: 'x', audiences: ['y'] }), /"audience" or "audiences", not both/);
    refused(api({ audiences: [] }), /"audiences" must be a non-empty array/);
    refused(api({ audiences: ['x', 'x'] }), /lists a value twice/);
    refused(api({ audience: 'x', issuers: 'https://one/' }), /"issuers" must be a non-empty array/);
    refused(api({ audience: 'x', clientIds: [''] }), /"clientIds" must be a non-empty array of strings/);
    refused(api({ audience: 'x', shareAudience: 'yes' }), /"shareAudience" must be true or false/);
    refused(api({ audience: 'x', scopePrefix: 'has space/' }), /"scopePrefix"/);
    // A typo of "issuers" must not leave the API open to every issuer.
    refused(api({ audience: 'x', issuer: ['https://one/'] }), /"issuer" is not a setting of an API/);
  });

  it('two APIs on one audience (Okta\'s api://default) need shareAudience on both, a scope on every route, and no scope in common', () => {
    const shared = (a: unknown[], b: unknown[], flags = [true, true]) => ({ apis: [
      { name: 'calendar', audience: 'api://default', shareAudience: flags[0], routes: a },
      { name: 'geocoding', audience: 'api://default', shareAudience: flags[1], routes: b },
    ] });
    const calendar = [route('GET', '/events', ['calendar:read'], true), route('POST', '/events', ['calendar:write'], true)];
    const geocoding = [route('GET', '/reverse', ['geocoding:reverse'])];
    assert.equal(parseRouteTable(shared(calendar, geocoding)).apis.length, 2);
    refused(shared(calendar, geocoding, [true, false]), /audience "api:\/\/default" is used by two APIs \(calendar, geocoding\).*"shareAudience": true/);
    refused(shared(calendar, [route('GET', '/reverse', [])]), /geocoding: GET \/reverse.*needs no scope.*shared by calendar, geocoding/);
    refused(shared(calendar, [route('GET', '/reverse', ['calendar:read'])]), /scope "calendar:read" is needed by both/);
    // The same rule holds for a shared Cognito app client id.
    refused({ apis: [
      { name: 'a', clientIds: ['c1'], shareAudience: true, routes: [route('GET', '/a', [])] },
      { name: 'b', clientIds: ['c1'], shareAudience: true, routes: [route('GET', '/b', ['b'])] },
    ] }, /needs no scope, but client id "c1" is shared/);
    // Scope prefixes keep two APIs' equal route scopes apart.
    assert.doesNotThrow(() => parseRouteTable({ apis: [
      { name: 'a', audience: 'api://default', shareAudience: true, scopePrefix: 'a:', routes: [route('GET', '/a', ['read'])] },
      { name: 'b', audience: 'api://default', shareAudience: true, scopePrefix: 'b:', routes: [route('GET', '/b', ['read'])] },
    ] }));
  });

  it('at cold start, an API naming an untrusted issuer, or reached by client id with no Cognito-style issuer, is refused', () => {
    const table = parseRouteTable({ apis: [{ name: 'a', audience: 'x', issuers: ['https://one.example/'], routes: [route('GET', '/a', [])] }] });
    const rfc = { name: 'rfc9068', clientIdAsAudience: false };
    const cognito = { name: 'cognito', clientIdAsAudience: true };
    assert.throws(() => checkTableIssuers(table, [{ issuer: 'https://one.example', profile: rfc }]), /"issuers" names "https:\/\/one.example\/", which is not a trusted issuer/);
    assert.doesNotThrow(() => checkTableIssuers(table, [{ issuer: 'https://one.example/', profile: rfc }]));
    const byClient = parseRouteTable({ apis: [{ name: 'c', clientIds: ['c1'], routes: [route('GET', '/c', [])] }] });
    assert.throws(() => checkTableIssuers(byClient, [{ issuer: 'https://one.example/', profile: rfc }]), /"clientIds" alone/);
    assert.doesNotThrow(() => checkTableIssuers(byClient, [{ issuer: 'https://one.example/', profile: rfc }, { issuer: 'https://pool/', profile: cognito }]));
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

