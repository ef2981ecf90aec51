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
