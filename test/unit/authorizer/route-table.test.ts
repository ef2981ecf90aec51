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


describe('route table: what a table may hold, entry by entry', () => {
  const route = (method: string, path: string, scopes: string[] = [], requireUser = false) => ({ method, path, scopes, requireUser });
  const one = (routes: unknown[], extra: Record<string, unknown> = {}) => ({ apis: [{ name: 'a', audience: 'aud-a', routes, ...extra }] });
  const refusedAs = (document: unknown, message: string | RegExp) => assert.throws(() => parseRouteTable(document), (error: unknown) => {
    assert.ok(error instanceof RouteTableError, `not a RouteTableError: ${String(error)}`);
    assert.equal(error.name, 'RouteTableError');
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });

  it('names the entry, or the whole table, in the message', () => {
    for (const document of [null, [], 'routes', {}, { apis: {} }, { apis: [] }]) {
      refusedAs(document, 'route table: must be an object with a non-empty "apis" array');
    }
    refusedAs({ apis: [null] }, 'route table apis[0]: must be an object');
    refusedAs({ apis: [[]] }, 'route table apis[0]: must be an object');
    refusedAs(one([null]), 'route table apis[0].routes[0]: must be an object');
    refusedAs(one([[route('GET', '/a')]]), 'route table apis[0].routes[0]: must be an object');
    refusedAs({ apis: [{ name: 'a', audience: 'aud-a', routes: [route('GET', '/a')] }, { name: 'b', audience: 'aud-b', routes: [route('GET', '/b'), route('GET', 'b')] }] },
      'route table apis[1].routes[1]: path "b" must start with "/"');
  });

  it('takes every method API Gateway routes, in upper case only', () => {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']) {
      assert.equal(parseRouteTable(one([route(method, '/a')])).routes[0]!.method, method);
    }
    for (const method of ['get', 'ANY', 'TRACE', 'CONNECT', '', 42, undefined]) refusedAs(one([route(method as string, '/a')]), /"method" must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS/);
  });

  it('path segments: literals of URL-safe characters, {parameters}, one greedy {parameter+} at the end', () => {
    const segments = (path: string) => parseRouteTable(one([route('GET', path)])).routes[0]!.segments;
    assert.deepEqual(segments('/'), []);
    assert.deepEqual(segments('/v1.0/a_b/c~d/e-f'), ['v1.0', 'a_b', 'c~d', 'e-f']);
    assert.deepEqual(segments('/items/{item_Id9}'), ['items', undefined]);
    assert.deepEqual(segments('/files/{path+}'), ['files', '+']);
    for (const path of ['/a//b', '/a/', '/a b', '/a%20b', '/a:b', '/a/{}', '/a/{a-b}', '/a/x{id}', '/a/{id}x', '/a/{id', '/a/{{id}}', '/a/{id++}', '/a/*', '/a/?q']) {
      refusedAs(one([route('GET', path)]), /is neither a literal nor a \{parameter\}/);
    }
    refusedAs(one([route('GET', '/files/{path+}/meta')]), 'route table apis[0].routes[0]: greedy parameter "{path+}" must be the last segment');
    refusedAs(one([route('GET', '/{a+}/{b+}')]), /greedy parameter "\{a\+\}" must be the last segment/);
    refusedAs(one([route('GET', 42 as unknown as string)]), 'route table apis[0].routes[0]: "path" must be a string');
    refusedAs(one([route('GET', '')]), /path "" must start with "\/"/);
  });

  it('a route\'s shape is its method and its path with parameters unnamed: two of one shape are refused', () => {
    refusedAs(one([route('GET', '/a/{x}'), route('GET', '/a/{y}')]), 'route table apis[0].routes[1]: GET /a/{y} is declared twice');
    refusedAs(one([route('GET', '/f/{x+}'), route('GET', '/f/{y+}')]), /GET \/f\/\{y\+\} is declared twice/);
    refusedAs({ apis: [{ name: 'a', audience: 'aud-a', routes: [route('GET', '/x', ['a'])] }, { name: 'b', audience: 'aud-b', routes: [route('GET', '/x', ['b'])] }] }, /GET \/x is declared twice/);
    // Other methods, a greedy parameter against a plain one, a literal against a parameter: distinct shapes.
    assert.equal(parseRouteTable(one([route('GET', '/a/{x}'), route('POST', '/a/{x}'), route('GET', '/b/{x}'), route('GET', '/b/c'), route('GET', '/')])).routes.length, 5);
    assert.equal(parseRouteTable(one([route('GET', '/f/{x}', ['read']), route('GET', '/f/{x+}', ['read'])])).routes.length, 2);
  });

  it('counts literal segments (the more, the more specific), numbers routes across the table, and keeps the scopes given', () => {
    const table = parseRouteTable({ apis: [
      { name: 'a', audience: 'aud-a', routes: [route('GET', '/a/{x}/c', ['read', 'write']), route('GET', '/a/b/c/{rest+}', ['read'])] },
      { name: 'b', audience: 'aud-b', scopePrefix: 'b:', routes: [route('GET', '/', ['x']), route('GET', '/b/{id}')] },
    ] });
    assert.deepEqual(table.routes.map((each) => each.literals), [2, 3, 0, 1]);
    assert.deepEqual(table.routes.map((each) => each.index), [0, 1, 2, 3]);
    assert.deepEqual(table.routes.map((each) => each.api.name), ['a', 'a', 'b', 'b']);
    assert.deepEqual(table.apis.map((api) => api.routes.map((each) => each.index)), [[0, 1], [2, 3]]);
    assert.deepEqual(table.routes.map((each) => each.grants), [['read', 'write'], ['read'], ['b:x'], []]);
    assert.deepEqual(table.routes.map((each) => each.scopes), [['read', 'write'], ['read'], ['x'], []]);
    assert.deepEqual(table.routes.map((each) => each.requireUser), [false, false, false, false]);
    assert.equal(table.apis[0]!.scopePrefix, undefined);
    assert.equal(table.apis[0]!.shareAudience, false);
  });

  it('a route\'s resource matcher matches as IAM does: "*" for each parameter, every other character literally', () => {
    // Of the characters a regular expression reads specially, only "." can be in a path segment.
    const table = parseRouteTable(one([route('GET', '/v1.0/items/{id}'), route('GET', '/')]));
    const [dotted, root] = table.routes;
    assert.ok(dotted!.resourceMatcher.test('GET/v1.0/items/42'), 'the route itself');
    assert.ok(dotted!.resourceMatcher.test('GET/v1.0/items/42/x/'), '"*" also matches "/"');
    assert.ok(dotted!.resourceMatcher.test('GET/v1.0/items/'), '"*" also matches nothing');
    for (const resource of ['GET/v1x0/items/42', 'GETx/v1.0/items/42', 'POST/v1.0/items/42', 'GET/v1.0/items', 'xGET/v1.0/items/42', 'GET/v1.0/itemsx/42']) {
      assert.equal(dotted!.resourceMatcher.test(resource), false, resource);
    }
    assert.ok(root!.resourceMatcher.test('GET/'));
    assert.equal(root!.resourceMatcher.test('GET/x'), false);
  });

  it('scopes, flags and names of the wrong kind are refused, naming the setting', () => {
    refusedAs(one([route('GET', '/a', ['read', 'has space'])]), /"scopes" must be an array of scope tokens/);
    refusedAs(one([route('GET', '/a', ['read', 'quo"te'])]), /"scopes" must be an array of scope tokens/);
    refusedAs(one([route('GET', '/a', [''])]), /"scopes" must be an array of scope tokens/);
    refusedAs(one([route('GET', '/a', [42 as unknown as string])]), /"scopes" must be an array of scope tokens/);
    refusedAs(one([{ method: 'GET', path: '/a', requireUser: false }]), /"scopes" must be an array/);
    refusedAs(one([{ method: 'GET', path: '/a', scopes: [], requireUser: 'yes' }]), 'route table apis[0].routes[0]: "requireUser" must be true or false');
    for (const name of ['Calendar', '1calendar', 'cal_endar', '', 'cal endar', 42]) {
      refusedAs({ apis: [{ name, audience: 'aud-a', routes: [route('GET', '/a')] }] }, 'route table apis[0]: "name" must be a lower-case identifier');
    }
    assert.equal(parseRouteTable({ apis: [{ name: 'c4l-Endar', audience: 'aud-a', routes: [route('GET', '/a')] }] }).apis[0]!.name, 'c4l-Endar');
    refusedAs(one([route('GET', '/a')], { function: 'Calendar' }), /"function" must name the Lambda function/);
    assert.equal(parseRouteTable(one([route('GET', '/a')], { function: 'calendar' })).apis[0]!.function, 'calendar');
    refusedAs(one([]), 'route table apis[0]: "routes" must be a non-empty array');
    refusedAs({ apis: [{ name: 'a', audience: 'aud-a' }] }, /"routes" must be a non-empty array/);
    refusedAs({ apis: [{ name: 'a', audience: 'aud-a', routes: { get: '/a' } }] }, /"routes" must be a non-empty array/);
    refusedAs(one([route('GET', '/a')], { scopePrefix: '' }), /"scopePrefix" must be a non-empty run of scope-token characters/);
    refusedAs(one([route('GET', '/a')], { scopePrefix: 42 }), /"scopePrefix"/);
    refusedAs(one([route('GET', '/a')], { shareAudience: 1 }), /"shareAudience" must be true or false/);
  });

  it('settings: unknown keys are refused, listing the known ones; "$" keys are comments', () => {
    refusedAs(one([route('GET', '/a')], { audeince: 'x' }), 'route table apis[0]: "audeince" is not a setting of an API; use name, audience, audiences, clientIds, issuers, shareAudience, scopePrefix, requireDpop, function, routes');
    assert.equal(parseRouteTable(one([route('GET', '/a')], { $comment: 'served by another stack' })).apis.length, 1);
  });

  it('audiences, client ids and issuers: non-empty lists of distinct non-empty strings, each saying what it is for', () => {
    const api = (extra: Record<string, unknown>) => ({ apis: [{ name: 'a', routes: [route('GET', '/a')], ...extra }] });
    refusedAs(api({ audiences: 'aud-a' }), 'route table apis[0]: "audiences" must be a non-empty array of strings: the identifiers tokens carry in "aud"');
    refusedAs(api({ audiences: ['a', 42] }), /"audiences" must be a non-empty array of strings/);
    refusedAs(api({ clientIds: [] }), 'route table apis[0]: "clientIds" must be a non-empty array of strings: the app client ids whose tokens are for this API (Cognito)');
    refusedAs(api({ audience: 'x', issuers: [] }), 'route table apis[0]: "issuers" must be a non-empty array of strings: the "iss" values whose tokens this API accepts');
    refusedAs(api({ audience: 'x', issuers: ['https://one/', 'https://one/'] }), 'route table apis[0]: "issuers" lists a value twice');
    refusedAs(api({ clientIds: ['c1', 'c1'] }), /"clientIds" lists a value twice/);
    refusedAs(api({ audience: 42 }), 'route table apis[0]: "audience" must be a non-empty string (the API identifier tokens carry in "aud")');
    refusedAs(api({ audience: ['x'] }), /"audience" must be a non-empty string/);
    refusedAs(api({}), 'route table apis[0]: "audience" must be a non-empty string (the API identifier tokens carry in "aud"), or give "audiences" or "clientIds"');
    refusedAs(api({ audience: 'x', audiences: ['x'] }), 'route table apis[0]: give "audience" or "audiences", not both');
    const table = parseRouteTable(api({ audiences: ['x', 'y'], clientIds: ['c1'], issuers: ['https://one/'] }));
    assert.deepEqual([table.apis[0]!.audiences, table.apis[0]!.clientIds, table.apis[0]!.issuers], [['x', 'y'], ['c1'], ['https://one/']]);
    assert.deepEqual(parseRouteTable(api({ clientIds: ['c1'] })).apis[0]!.audiences, []);
    assert.deepEqual(parseRouteTable(api({ audience: 'x' })).apis[0]!.clientIds, []);
  });

  it('the table\'s lists are its own: changing the document afterwards changes nothing', () => {
    const document = { apis: [{ name: 'a', audiences: ['x'], issuers: ['https://one/'], routes: [route('GET', '/a', ['read'])] }] };
    const table = parseRouteTable(document);
    document.apis[0]!.audiences.push('y');
    document.apis[0]!.issuers.push('https://evil/');
    document.apis[0]!.routes[0]!.scopes.push('admin');
    assert.deepEqual(table.apis[0]!.audiences, ['x']);
    assert.deepEqual(table.apis[0]!.issuers, ['https://one/']);
    assert.deepEqual(table.routes[0]!.scopes, ['read']);
  });
});

describe('route table: sharing an audience, and issuers at cold start, in detail', () => {
  const route = (method: string, path: string, scopes: string[], requireUser = false) => ({ method, path, scopes, requireUser });

  it('names the unwilling API, the shared identifier, and the open route', () => {
    const apis = (a: Record<string, unknown>, b: Record<string, unknown>) => ({ apis: [
      { name: 'first', audience: 'api://default', routes: [route('GET', '/first', ['first:read'])], ...a },
      { name: 'second', audience: 'api://default', routes: [route('GET', '/second', ['second:read'])], ...b },
    ] });
    assert.throws(() => parseRouteTable(apis({ shareAudience: true }, {})), (error: unknown) => error instanceof RouteTableError
      && error.message.startsWith('route table second: audience "api://default" is used by two APIs (first, second)'));
    assert.throws(() => parseRouteTable(apis({}, { shareAudience: true })), (error: unknown) => error instanceof RouteTableError && error.message.startsWith('route table first: '));
    assert.throws(() => parseRouteTable(apis({ shareAudience: true, routes: [route('GET', '/first', ['first:read']), route('POST', '/first', [])] }, { shareAudience: true })),
      (error: unknown) => error instanceof RouteTableError && error.message.startsWith('route table first: POST /first: needs no scope, but audience "api://default" is shared by first, second'));
    // Three APIs on one audience: every pair is checked.
    assert.throws(() => parseRouteTable({ apis: [
      { name: 'a', audience: 'api://default', shareAudience: true, routes: [route('GET', '/a', ['a'])] },
      { name: 'b', audience: 'api://default', shareAudience: true, routes: [route('GET', '/b', ['b'])] },
      { name: 'c', audience: 'api://default', shareAudience: true, routes: [route('GET', '/c', ['c', 'a'])] },
    ] }), /scope "a" is needed by both a and c, which share audience "api:\/\/default"/);
    // A scope in common is found in any route of the other API, not only when all its routes need it.
    assert.throws(() => parseRouteTable({ apis: [
      { name: 'a', audience: 'api://default', shareAudience: true, routes: [route('GET', '/a', ['a:read'])] },
      { name: 'b', audience: 'api://default', shareAudience: true, routes: [route('GET', '/b', ['b:read']), route('POST', '/b', ['a:read'])] },
    ] }), /scope "a:read" is needed by both a and b/);
    // Sharing one of several audiences counts as sharing; an API may list its own audience once only.
    assert.throws(() => parseRouteTable({ apis: [
      { name: 'a', audiences: ['own-a', 'api://default'], routes: [route('GET', '/a', ['a'])] },
      { name: 'b', audiences: ['api://default', 'own-b'], routes: [route('GET', '/b', ['b'])] },
    ] }), /audience "api:\/\/default" is used by two APIs \(a, b\)/);
    // An audience string equal to another API's client id is not shared: they are matched against different claims.
    assert.equal(parseRouteTable({ apis: [
      { name: 'a', audience: 'same', routes: [route('GET', '/a', [])] },
      { name: 'b', clientIds: ['same'], routes: [route('GET', '/b', [])] },
    ] }).apis.length, 2);
  });

  it('checkTableIssuers names the API, the issuer and the fix', () => {
    const rfc = { name: 'rfc9068', clientIdAsAudience: false };
    const cognito = { name: 'cognito', clientIdAsAudience: true };
    const table = parseRouteTable({ apis: [
      { name: 'open', audience: 'x', routes: [route('GET', '/open', [])] },
      { name: 'pinned', audience: 'y', issuers: ['https://one/', 'https://two/'], routes: [route('GET', '/pinned', [])] },
    ] });
    assert.throws(() => checkTableIssuers(table, [{ issuer: 'https://one/', profile: rfc }]), (error: unknown) => error instanceof RouteTableError
      && error.message === 'route table pinned: "issuers" names "https://two/", which is not a trusted issuer; add it to AUTH_ISSUER (or AUTH_ISSUERS), or correct the table (issuers are compared byte for byte)');
    assert.doesNotThrow(() => checkTableIssuers(table, [{ issuer: 'https://two/', profile: rfc }, { issuer: 'https://one/', profile: rfc }]));
    // Reached by client id alone: some issuer the API accepts must have a profile whose client_id stands in for aud.
    const byClient = parseRouteTable({ apis: [{ name: 'pool', clientIds: ['c1'], issuers: ['https://one/'], routes: [route('GET', '/c', [])] }] });
    assert.throws(() => checkTableIssuers(byClient, [{ issuer: 'https://one/', profile: rfc }, { issuer: 'https://pool/', profile: cognito }]),
      (error: unknown) => error instanceof RouteTableError && error.message.startsWith('route table pool: is reached by "clientIds" alone, but none of its issuers has a profile whose client_id stands in for "aud" (cognito)'));
    assert.doesNotThrow(() => checkTableIssuers(byClient, [{ issuer: 'https://one/', profile: cognito }]));
    // With audiences as well, client ids alone are not what reaches it.
    const both = parseRouteTable({ apis: [{ name: 'both', audience: 'x', clientIds: ['c1'], routes: [route('GET', '/b', [])] }] });
    assert.doesNotThrow(() => checkTableIssuers(both, [{ issuer: 'https://one/', profile: rfc }]));
  });
});

describe('route table: wildcards that reach other routes, and which route a request hits', () => {
  const route = (method: string, path: string, scopes: string[], requireUser = false) => ({ method, path, scopes, requireUser });
  const table = (...routes: unknown[]) => parseRouteTable({ apis: [{ name: 'a', audience: 'aud-a', routes }] });

  it('resourceReachesRoute: "*" is any run of characters, {x} one or more but no "/", {x+} one or more of any', () => {
    const cases: [string, string, string, boolean][] = [
      // Literal patterns reach a parameter route through one of its concrete requests.
      ['GET/a/b', 'GET', '/a/{x}', true], ['GET/a/b/c', 'GET', '/a/{x}/c', true], ['GET/a/b/c', 'GET', '/a/{x}', false], ['GET/a/b/c', 'GET', '/a/{x+}', true],
      ['GET/a/', 'GET', '/a/{x}', false], ['GET/a', 'GET', '/a/{x+}', false], ['GET/', 'GET', '/{x}', false], ['GET/', 'GET', '/', true],
      // A greedy parameter takes "/" too, a plain one does not.
      ['GET/a//b', 'GET', '/a/{x+}', true], ['GET/a//b', 'GET', '/a/{x}', false], ['GET/a/*/*', 'GET', '/a/{x}', false], ['GET/a/*/*', 'GET', '/a/{x+}', true],
      // Wildcards at any place, the method's letters included.
      ['*', 'POST', '/a/{x}', true], ['G*T/a', 'GET', '/a', true], ['GET*', 'GET', '/anything/{x}', true], ['GET/a/b*', 'GET', '/a/{x}', true],
      ['GET/a/*b', 'GET', '/a/{x}/c', false], ['GET/a/*c', 'GET', '/a/{x}/c', true], ['GET/*/c', 'GET', '/a/{x}/c', true], ['GET/*/d', 'GET', '/a/{x}/c', false],
      ['POST/*', 'GET', '/a', false], ['GE/*', 'GET', '/a', false], ['GETT/*', 'GET', '/a', false], ['GET/a/*/c/*', 'GET', '/a/{x}/c', false],
    ];
    for (const [pattern, method, path, expected] of cases) assert.equal(resourceReachesRoute(pattern, method, path), expected, `${pattern} vs ${method} ${path}`);
  });

  it('a literal route is never the wider one: API Gateway sends its own request to it, not to the parameter route', () => {
    // GET /items/search needs nothing, GET /items/{id} needs read: "GET/items/search" is no wildcard.
    assert.equal(table(route('GET', '/items/search', []), route('GET', '/items/{id}', ['read'])).routes.length, 2);
  });

  it('an overlap is allowed when whoever may call the wider route may call the other: same API, a subset of its scopes, no stricter kind', () => {
    assert.equal(table(route('GET', '/x/{id}', [], true), route('GET', '/x/{id}/me', [])).routes.length, 2);
    assert.equal(table(route('GET', '/x/{id}', ['a', 'b'], true), route('GET', '/x/{id}/me', ['b'], true)).routes.length, 2);
    assert.throws(() => table(route('GET', '/x/{id}', ['a'], true), route('GET', '/x/{id}/me', ['a', 'b'], true)), /its IAM resource "GET\/x\/\*" also matches GET \/x\/\{id\}\/me \(API a\)/);
    assert.throws(() => table(route('GET', '/x/{id}', ['a']), route('GET', '/x/{id}/me', ['a'], true)), RouteTableError);
    // Two APIs, equal needs: a token of the first API is not one of the second.
    assert.throws(() => parseRouteTable({ apis: [
      { name: 'a', audience: 'aud-a', routes: [route('GET', '/s/{rest+}', ['read'])] },
      { name: 'b', audience: 'aud-b', routes: [route('GET', '/s/b', ['read'])] },
    ] }), (error: unknown) => error instanceof RouteTableError && error.message.startsWith('route table a: GET /s/{rest+}: its IAM resource "GET/s/*" also matches GET /s/b (API b)'));
  });

  it('findRoute: a literal segment wins over a parameter, a parameter needs a non-empty segment, a greedy one at least one more', () => {
    const routes = table(
      route('GET', '/', []), route('GET', '/items/{id}', ['read']), route('GET', '/items/search', []), route('GET', '/items/{id}/tags/{tag}', ['read']),
      route('GET', '/files/{path+}', ['files']),
    );
    const hit = (method: string, path: string) => findRoute(routes, method, path)?.path;
    assert.equal(hit('GET', '/'), '/');
    assert.equal(hit('GET', '/items/search'), '/items/search');
    assert.equal(hit('GET', '/items/42'), '/items/{id}');
    assert.equal(hit('GET', '/items/42/tags/x'), '/items/{id}/tags/{tag}');
    assert.equal(hit('GET', '/items/search/tags/x'), '/items/{id}/tags/{tag}');
    assert.equal(hit('GET', '/files/a'), '/files/{path+}');
    assert.equal(hit('GET', '/files/a/b/c'), '/files/{path+}');
    for (const path of ['/items', '/items/', '/items//tags/x', '/items/42/tags/', '/items/42/tags', '/files', '/nowhere', '/items/42/x/y']) assert.equal(hit('GET', path), undefined, path);
    assert.equal(hit('POST', '/items/42'), undefined);
    assert.equal(hit('get', '/items/42'), undefined);
    // A path without its leading "/" is read as if it had one.
    assert.equal(hit('GET', 'items/42'), '/items/{id}');
  });
});
