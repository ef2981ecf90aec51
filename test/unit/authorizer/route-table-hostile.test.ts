import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findRoute, parseRouteTable, resourceReachesRoute, RouteTableError } from '../../../lib/authorizer/route-table.js';

// Tables an operator could get wrong or an edit could corrupt, and the lookups that must still pick the right route.
const route = (method: string, path: string, scopes: string[] = [], requireUser = false) => ({ method, path, scopes, requireUser });
const one = (routes: unknown[], extra: Record<string, unknown> = {}) => ({ apis: [{ name: 'a', audience: 'aud-a', routes, ...extra }] });
const refusedAs = (document: unknown, message: string | RegExp) => assert.throws(() => parseRouteTable(document), (error: unknown) => {
  assert.ok(error instanceof RouteTableError, `not a RouteTableError: ${String(error)}`);
  if (typeof message === 'string') assert.equal(error.message, message);
  else assert.match(error.message, message);
  return true;
});

describe('route table: entries of the wrong kind', () => {
  it('an API or a route written as a string or a number is "not an object", not read through', () => {
    for (const entry of ['calendar', 42, true]) {
      refusedAs({ apis: [entry] }, 'route table apis[0]: must be an object');
      refusedAs(one([entry]), 'route table apis[0].routes[0]: must be an object');
    }
  });

  it('a name or a method in an array is refused, though it reads as the right string', () => {
    // String(["calendar"]) is "calendar", String(["GET"]) is "GET": a JSON edit that wrapped the value.
    refusedAs({ apis: [{ name: ['calendar'], audience: 'aud-a', routes: [route('GET', '/a')] }] }, 'route table apis[0]: "name" must be a lower-case identifier');
    refusedAs(one([{ method: ['GET'], path: '/a', scopes: [], requireUser: false }]), /apis\[0\]\.routes\[0\]: "method" must be one of GET, POST/);
  });

  it('an API without "function" has no "function" key at all (serverless.yml leaves such an API to another stack)', () => {
    const api = parseRouteTable(one([route('GET', '/a')])).apis[0]!;
    assert.equal('function' in api, false);
    assert.equal(parseRouteTable(one([route('GET', '/a')], { function: 'svc' })).apis[0]!.function, 'svc');
  });

  it('"requireDpop" is a flag: true or false, false when left out', () => {
    assert.equal(parseRouteTable(one([route('GET', '/a')])).apis[0]!.requireDpop, false);
    assert.equal(parseRouteTable(one([route('GET', '/a')], { requireDpop: true })).apis[0]!.requireDpop, true);
    for (const value of ['true', 1, null, [true]]) {
      refusedAs(one([route('GET', '/a')], { requireDpop: value }), 'route table apis[0]: "requireDpop" must be true or false');
    }
  });
});

describe('route table: declared twice, or not', () => {
  it('"/{id}" beside "/" and "/v1events" beside "/v1/events" are other routes, not duplicates', () => {
    const table = parseRouteTable(one([route('GET', '/', ['read']), route('GET', '/{id}', ['read']), route('GET', '/v1/events'), route('GET', '/v1events')]));
    assert.deepEqual(table.routes.map((item) => item.path), ['/', '/{id}', '/v1/events', '/v1events']);
    assert.equal(findRoute(table, 'GET', '/')?.path, '/');
    assert.equal(findRoute(table, 'GET', '/e1')?.path, '/{id}');
    assert.equal(findRoute(table, 'GET', '/v1events')?.path, '/v1events');
    // The same shape under other parameter names still is a duplicate.
    refusedAs(one([route('GET', '/{id}'), route('GET', '/{other}')]), 'route table apis[0].routes[1]: GET /{other} is declared twice');
  });
});

describe('route table: messages that name both APIs and say what to do', () => {
  it('a scope shared by two APIs on one audience names the API in "where"', () => {
    const shared = (name: string, scope: string) => ({ name, audience: 'api://default', shareAudience: true, routes: [route('GET', `/${name}`, [scope])] });
    refusedAs({ apis: [shared('a', 'read'), shared('b', 'read')] },
      'route table a: scope "read" is needed by both a and b, which share audience "api://default": a token granted it for one would open the other; name each API\'s scopes apart (or give one a "scopePrefix")');
  });

  it('a wildcard overreach says how to fix the table', () => {
    refusedAs(one([route('GET', '/events/{id}', ['read']), route('GET', '/events/{id}/attendees', ['admin'])]),
      'route table a: GET /events/{id}: its IAM resource "GET/events/*" also matches GET /events/{id}/attendees (API a), which needs what a token allowed '
        + 'the first may lack; a cached policy would open it. Give the second route a path the first\'s wildcard cannot reach, or requirements the '
        + 'first already implies (same API, a subset of its scopes).');
  });
});

describe('findRoute: the most specific route wins, wherever it stands in the table', () => {
  it('a literal route declared before a parameter route that also matches still wins', () => {
    const table = parseRouteTable(one([
      route('GET', '/events/today', ['read']),
      route('GET', '/events/{id}', ['read']),
      route('GET', '/files/readme', ['read']),
      route('GET', '/files/{path+}', ['read']),
    ]));
    assert.equal(findRoute(table, 'GET', '/events/today')?.path, '/events/today');
    assert.equal(findRoute(table, 'GET', '/events/e1')?.path, '/events/{id}');
    assert.equal(findRoute(table, 'GET', '/files/readme')?.path, '/files/readme');
    assert.equal(findRoute(table, 'GET', '/files/readme/x')?.path, '/files/{path+}');
  });
});

describe('resourceReachesRoute: a search that stays bounded', () => {
  it('a pattern of many wildcards against a route of many parameters, with no match at the end, is answered', () => {
    // Each "*" may take any run of the route's characters: without remembering the pairs of positions
    // already explored, the search tries every way of splitting the path among them.
    const pattern = `GET${'/*'.repeat(24)}/z`;
    const path = `${'/{p}'.repeat(24)}/y`;
    assert.equal(resourceReachesRoute(pattern, 'GET', path), false);
    assert.equal(resourceReachesRoute(`GET${'/*'.repeat(24)}/y`, 'GET', path), true);
  });
});
