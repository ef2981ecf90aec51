import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { accessTo, permissionsOf } from '../../../lib/authorizer/access.js';
import type { TokenClaims } from '../../../lib/jwt/claims.js';
import { parseExecuteApiArn } from '../../../lib/authorizer/execute-api-arn.js';
import { authorizerContext, buildPolicy } from '../../../lib/authorizer/policy.js';
import { createAuthorizer } from '../../../lib/authorizer/authorizer.js';
import { loadConfig } from '../../../lib/authorizer/config.js';
import type { TokenVerifier } from '../../../lib/jwt/token-verifier.js';
import { findRoute, parseRouteTable } from '../../../lib/authorizer/route-table.js';
import { CALENDAR_AUDIENCE, GEOCODING_AUDIENCE } from '../../helpers/jwt.js';
import { arnFor, policyAllows, STAGE } from '../../helpers/policy.js';

const table = parseRouteTable(JSON.parse(readFileSync(new URL('../../../routes.json', import.meta.url), 'utf8')));

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
  const access = accessTo(findRoute(table, arn.method, arn.path), tokenClaims, permissions, arn.method, arn.path);
  return { access, policy: buildPolicy(tokenClaims.subject, arn.stagePrefix, permissions.permitted, authorizerContext(tokenClaims)) };
}

const CALENDAR_ROUTES: [string, string][] = [
  ['GET', '/calendar/v1/events'], ['POST', '/calendar/v1/events'], ['GET', '/calendar/v1/events/e1'],
  ['PUT', '/calendar/v1/events/e1'], ['DELETE', '/calendar/v1/events/e1'],
];
const WRITE_ROUTES = CALENDAR_ROUTES.filter(([method]) => method !== 'GET');
const GEOCODING_ROUTE: [string, string] = ['GET', '/geocoding/v1/reverse'];

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

describe('the decision is what the policy does to the requested ARN', () => {
  const reader = claims({ scopes: new Set(['read']) });
  const verified = { claims: reader, kid: 'k' };
  const authorize = createAuthorizer({
    config: loadConfig({ AUTH_ISSUER: 'https://issuer.example/', AUTH_JWKS_URI: 'https://issuer.example/jwks' }),
    routes: table,
    verifier: { verify: async () => verified, verifyNow: () => ({ verified, cached: false }) } as unknown as TokenVerifier,
  });

  it('paths no route template matches but the policy\'s wildcards cover are allowed, and logged so', async () => {
    // The review's ARNs: a trailing slash, an extra segment, an empty segment; IAM's "*" covers each.
    for (const path of ['/calendar/v1/events/', '/calendar/v1/events/x/y', '/calendar/v1/events//x', '/calendar/v1/events/a/b/c/']) {
      const arn = arnFor('GET', path);
      const decision = await authorize({ type: 'TOKEN', authorizationToken: 'Bearer a.b.c', methodArn: arn });
      assert.equal(policyAllows(decision.result!, arn), true, `the policy allows ${path}`);
      assert.deepEqual([decision.outcome, decision.reason], ['allow', undefined], path);
    }
  });

  it('for every request, allow exactly when the returned policy allows its ARN', async () => {
    const paths = ['/calendar/v1/events', '/calendar/v1/events/', '/calendar/v1/events/1', '/calendar/v1/events/1/2', '/calendar/v1/eventsx',
      '/calendar/v1', '/calendar/v1/events//', '/geocoding/v1/reverse', '/nowhere', '/', '/calendar/v1/events/.%2e'];
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) {
      for (const path of paths) {
        const arn = arnFor(method, path);
        const decision = await authorize({ type: 'TOKEN', authorizationToken: 'Bearer a.b.c', methodArn: arn });
        assert.equal(decision.outcome === 'allow', policyAllows(decision.result!, arn), `${method} ${path}: ${decision.outcome} ${decision.reason}`);
      }
    }
  });
});

describe('permissionsOf and accessTo over several APIs, issuers and Cognito client ids', () => {
  const route = (method: string, path: string, scopes: string[], requireUser = false) => ({ method, path, scopes, requireUser });
  const multi = parseRouteTable({ apis: [
    { name: 'calendar', audiences: ['aud-calendar', 'api://calendar'], issuers: ['https://one.example/'], routes: [
      route('GET', '/calendar/events', ['read'], true), route('POST', '/calendar/events', ['write'], true), route('GET', '/calendar/events/{id}', ['read'], true),
    ] },
    { name: 'geocoding', audience: 'aud-geocoding', routes: [route('GET', '/geocoding/reverse', []), route('GET', '/geocoding/search', ['search'])] },
    { name: 'pool', clientIds: ['c1'], scopePrefix: 'https://pool.example/', routes: [route('GET', '/pool/me', ['read'], true)] },
  ] });
  const token = (overrides: Partial<TokenClaims>) => claims({ issuer: 'https://one.example/', audiences: ['aud-calendar'], ...overrides });
  const paths = (tokenClaims: TokenClaims) => permissionsOf(multi, tokenClaims).permitted.map((permitted) => `${permitted.method} ${permitted.path}`);
  const decide = (tokenClaims: TokenClaims, method: string, path: string) => {
    const permissions = permissionsOf(multi, tokenClaims);
    const { allowed, reason } = accessTo(findRoute(multi, method, path), tokenClaims, permissions, method, path);
    return { allowed, reason };
  };

  it('a token naming several audiences is for each API one of them names, and only those', () => {
    assert.deepEqual(paths(token({ audiences: ['https://unrelated.example/', 'api://calendar'] })), ['GET /calendar/events', 'POST /calendar/events', 'GET /calendar/events/{id}']);
    assert.deepEqual(paths(token({ audiences: ['aud-calendar', 'aud-geocoding'], scopes: new Set(['read']) })), ['GET /calendar/events', 'GET /calendar/events/{id}', 'GET /geocoding/reverse']);
    assert.deepEqual(paths(token({ audiences: ['https://unrelated.example/'] })), []);
  });

  it('the key names the permitted routes by their table index: equal keys for equal permissions only', () => {
    const readWrite = permissionsOf(multi, token({}));
    const read = permissionsOf(multi, token({ scopes: new Set(['read']) }));
    assert.equal(readWrite.key, '0,1,2,');
    assert.equal(read.key, '0,2,');
    assert.equal(permissionsOf(multi, token({ subject: 'someone-else' })).key, readWrite.key);
    assert.equal(permissionsOf(multi, token({ audiences: ['aud-geocoding'], tokenUse: 'client', scopes: new Set(['search']) })).key, '3,4,');
    assert.equal(permissionsOf(multi, token({ audiences: ['nobody'] })).key, '');
  });

  it('why nothing is permitted: no API has the audience, or those that have it refuse the issuer', () => {
    assert.equal(permissionsOf(multi, token({})).unserved, undefined);
    assert.equal(permissionsOf(multi, token({ audiences: ['nobody'] })).unserved, 'audience_mismatch');
    assert.equal(permissionsOf(multi, token({ issuer: 'https://two.example/' })).unserved, 'issuer_not_allowed');
    // One API refuses the issuer, another with the token's audience takes it: the token is served.
    const both = permissionsOf(multi, token({ issuer: 'https://two.example/', audiences: ['aud-calendar', 'aud-geocoding'] }));
    assert.equal(both.unserved, undefined);
    assert.deepEqual([...both.apis].map((api) => api.name), ['geocoding']);
    // An API that grants the token no route still serves it: the refusal is about scopes, not audience.
    assert.equal(permissionsOf(multi, token({ scopes: new Set(), tokenUse: 'client' })).unserved, undefined);
  });

  it('a route of an API refusing the issuer says issuer_not_allowed, even when another API serves the token', () => {
    const foreign = token({ issuer: 'https://two.example/', audiences: ['aud-calendar', 'aud-geocoding'] });
    assert.deepEqual(decide(foreign, 'GET', '/calendar/events'), { allowed: false, reason: 'issuer_not_allowed' });
    assert.deepEqual(decide(foreign, 'GET', '/geocoding/reverse'), { allowed: true, reason: undefined });
    assert.deepEqual(decide(token({ audiences: ['aud-geocoding'] }), 'GET', '/calendar/events'), { allowed: false, reason: 'audience_mismatch' });
  });

  it('a user-only route refuses a machine token as user_token_required, and a token of unknown kind as token_use_unknown', () => {
    assert.deepEqual(decide(token({ tokenUse: 'client' }), 'GET', '/calendar/events'), { allowed: false, reason: 'user_token_required' });
    assert.deepEqual(decide(token({ tokenUse: 'unknown' }), 'GET', '/calendar/events'), { allowed: false, reason: 'token_use_unknown' });
    assert.deepEqual(decide(token({ tokenUse: 'unknown', scopes: new Set() }), 'GET', '/calendar/events'), { allowed: false, reason: 'token_use_unknown' });
    assert.deepEqual(decide(token({ tokenUse: 'user', scopes: new Set(['write']) }), 'GET', '/calendar/events'), { allowed: false, reason: 'insufficient_scope' });
    // Routes open to machine tokens take every kind.
    for (const tokenUse of ['user', 'client', 'unknown'] as const) {
      assert.deepEqual(decide(token({ audiences: ['aud-geocoding'], tokenUse }), 'GET', '/geocoding/reverse'), { allowed: true, reason: undefined }, tokenUse);
    }
    assert.deepEqual(decide(token({ audiences: ['aud-geocoding'] }), 'GET', '/geocoding/search'), { allowed: false, reason: 'insufficient_scope' });
  });

  it('every scope of a route is needed, not one of them', () => {
    const strict = parseRouteTable({ apis: [{ name: 'a', audience: 'aud-a', routes: [route('DELETE', '/a/{id}', ['write', 'admin'])] }] });
    const permitted = (scopes: string[]) => permissionsOf(strict, claims({ audiences: ['aud-a'], scopes: new Set(scopes) })).permitted.length;
    assert.equal(permitted(['write']), 0);
    assert.equal(permitted(['admin']), 0);
    assert.equal(permitted(['write', 'admin']), 1);
  });

  it('Cognito: the client id stands in for the audience, only for the APIs listing it, and scopes carry the API\'s prefix', () => {
    const cognito = (clientAudience: string | undefined, scopes: string[]) =>
      claims({ issuer: 'https://pool/', audiences: [], clientAudience, clientId: clientAudience, scopes: new Set(scopes) });
    assert.deepEqual(decide(cognito('c1', ['https://pool.example/read']), 'GET', '/pool/me'), { allowed: true, reason: undefined });
    assert.deepEqual(decide(cognito('c1', ['read']), 'GET', '/pool/me'), { allowed: false, reason: 'insufficient_scope' });
    assert.deepEqual(decide(cognito('c2', ['https://pool.example/read']), 'GET', '/pool/me'), { allowed: false, reason: 'audience_mismatch' });
    assert.equal(permissionsOf(multi, cognito('c2', ['https://pool.example/read'])).unserved, 'audience_mismatch');
    assert.equal(permissionsOf(multi, cognito(undefined, ['https://pool.example/read'])).unserved, 'audience_mismatch');
    // A client id equal to an audience string is no audience: only "aud" is matched against audiences.
    assert.equal(permissionsOf(multi, cognito('aud-geocoding', [])).unserved, 'audience_mismatch');
  });

  it('an unknown route is route_unknown, unless a permitted wildcard covers its ARN', () => {
    assert.deepEqual(decide(token({}), 'GET', '/calendar/nowhere'), { allowed: false, reason: 'route_unknown' });
    assert.deepEqual(decide(token({}), 'GET', '/calendar/events/a/b'), { allowed: true, reason: undefined });
    assert.deepEqual(decide(token({ scopes: new Set(['write']) }), 'GET', '/calendar/events/a/b'), { allowed: false, reason: 'route_unknown' });
  });
});
