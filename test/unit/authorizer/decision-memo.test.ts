import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { permissionsOf } from '../../../lib/authorizer/access.js';
import { createAuthorizer } from '../../../lib/authorizer/authorizer.js';
import { DOCUMENT_MEMO_SIZE, STAGE_MEMO_SIZE, TARGET_MEMO_SIZE } from '../../../lib/authorizer/decision-memo.js';
import type { TokenClaims } from '../../../lib/jwt/claims.js';
import { loadConfig } from '../../../lib/authorizer/config.js';
import { authorizerContext, buildPolicy } from '../../../lib/authorizer/policy.js';
import { parseRouteTable } from '../../../lib/authorizer/route-table.js';
import type { TokenVerifier, VerifiedToken } from '../../../lib/jwt/token-verifier.js';
import { CALENDAR_AUDIENCE, GEOCODING_AUDIENCE } from '../../helpers/jwt.js';
import { arnFor, STAGE } from '../../helpers/policy.js';

const TABLE = parseRouteTable(JSON.parse(readFileSync(new URL('../../../routes.json', import.meta.url), 'utf8')));
const claimsOf = (subject: string, scopes: string[], audiences: string[] = [CALENDAR_AUDIENCE]): TokenClaims => ({
  issuer: 'https://issuer.example/', subject, audiences, expiresAt: 2 ** 31, clientId: undefined, scopes: new Set(scopes), tokenUse: 'user',
});

/**
 * An authorizer whose verifier answers with `next.token` (the same object, as a decision-cache hit
 * does), said to be a hit unless the decision cache is off.
 */
function authorizerWith(env: Record<string, string> = {}) {
  const next: { token: VerifiedToken } = { token: { claims: claimsOf('usr', ['read']), kid: 'k' } };
  const cached = env['AUTH_DECISION_CACHE_SIZE'] !== '0';
  const verifier = { verify: async () => next.token, verifyNow: () => ({ verified: next.token, cached }) } as unknown as TokenVerifier;
  const authorize = createAuthorizer({
    config: loadConfig({ AUTH_ISSUER: 'https://issuer.example/', AUTH_JWKS_URI: 'https://issuer.example/jwks', ...env }),
    routes: TABLE,
    verifier,
  });
  const decide = async (methodArn: string) => authorize({ type: 'TOKEN', authorizationToken: 'Bearer a.b.c', methodArn });
  return { authorize, decide, next };
}

const expected = (claims: TokenClaims, stage: string): APIGatewayAuthorizerResult =>
  buildPolicy(claims.subject, stage, permissionsOf(TABLE, claims).permitted, authorizerContext(claims));

describe('authorizer memos', () => {
  it('a flood of distinct request paths keeps the methodArn memo bounded, and every decision right', async () => {
    const { authorize, decide, next } = authorizerWith();
    const claims = next.token.claims;
    for (let index = 0; index < TARGET_MEMO_SIZE * 3; index += 1) {
      const decision = await decide(arnFor('GET', `/calendar/v1/events/id-${index}`));
      assert.equal(decision.outcome, 'allow');
      assert.equal(decision.route, 'GET /calendar/v1/events/{id}');
      assert.deepEqual(decision.result, expected(claims, STAGE));
      const unknown = await decide(arnFor('GET', `/nowhere/${index}`));
      assert.equal(unknown.reason, 'route_unknown');
      assert.equal(unknown.route, `GET /nowhere/${index}`);
    }
    assert.ok(authorize.memoSizes().targets <= TARGET_MEMO_SIZE);
  });

  it('an invalid methodArn is refused every time, also right after a valid one of the same stage', async () => {
    const { authorize, decide } = authorizerWith();
    assert.equal((await decide(arnFor('GET', '/calendar/v1/events'))).outcome, 'allow');
    for (let round = 0; round < 2; round += 1) {
      for (const bad of ['arn:aws:execute-api:eu-west-1:123456789012:abc123/pr*d/GET/calendar/v1/events', 'not-an-arn', `${STAGE}/get/calendar/v1/events`]) {
        const decision = await decide(bad);
        assert.equal(decision.outcome, 'unauthorized');
        assert.equal(decision.reason, 'event_invalid');
      }
    }
    assert.equal(authorize.memoSizes().targets, 1);
  });

  it('documents are per stage and per set of permitted routes: no leak across stages or tokens', async () => {
    const { authorize, decide, next } = authorizerWith();
    const reader = { claims: claimsOf('reader', ['read']), kid: 'k' };
    const writer = { claims: claimsOf('writer', ['read', 'write']), kid: 'k' };
    const both = { claims: claimsOf('both', ['read'], [CALENDAR_AUDIENCE, GEOCODING_AUDIENCE]), kid: 'k' };
    const stages = ['prod', 'dev', 'test'].map((stage) => `arn:aws:execute-api:eu-west-1:123456789012:abc123/${stage}`);
    for (let round = 0; round < 2; round += 1) {
      for (const stage of stages) {
        for (const token of [reader, writer, both]) {
          next.token = token;
          const { result } = await decide(`${stage}/GET/calendar/v1/events`);
          assert.deepEqual(result, expected(token.claims, stage), `${token.claims.subject} in ${stage}`);
        }
      }
    }
    const sizes = authorize.memoSizes();
    assert.equal(sizes.stages, 3);
    assert.equal(sizes.documents, 9);
  });

  it('stages and permitted-route sets are bounded too', async () => {
    const { authorize, decide, next } = authorizerWith();
    for (let index = 0; index < STAGE_MEMO_SIZE * 2; index += 1) {
      next.token = { claims: claimsOf(`u${index}`, ['read']), kid: 'k' };
      const stage = `arn:aws:execute-api:eu-west-1:123456789012:abc123/s${index}`;
      assert.deepEqual((await decide(`${stage}/GET/calendar/v1/events`)).result, expected(next.token.claims, stage));
    }
    assert.ok(authorize.memoSizes().stages <= STAGE_MEMO_SIZE);
    // Scope sets give at most as many documents as there are subsets of the table's routes; the cap holds regardless.
    const scopeSets = [[], ['read'], ['write'], ['read', 'write'], ['admin'], ['read', 'admin']];
    for (const scopes of scopeSets) {
      next.token = { claims: claimsOf('s', scopes), kid: 'k' };
      assert.deepEqual((await decide(arnFor('GET', '/calendar/v1/events'))).result, expected(next.token.claims, STAGE));
    }
    assert.ok(authorize.memoSizes().documents <= STAGE_MEMO_SIZE * DOCUMENT_MEMO_SIZE);
  });

  it('with the decision cache off, a token object seen again is derived afresh (nothing kept per token)', async () => {
    const { decide, next } = authorizerWith({ AUTH_DECISION_CACHE_SIZE: '0' });
    const token = { claims: claimsOf('usr', ['read']), kid: 'k' };
    next.token = token;
    assert.deepEqual((await decide(arnFor('GET', '/calendar/v1/events'))).result, expected(token.claims, STAGE));
    // The same object with other claims (only a stub can do this) must not get the old policy.
    token.claims = claimsOf('usr', ['read', 'write']);
    assert.deepEqual((await decide(arnFor('GET', '/calendar/v1/events'))).result, expected(token.claims, STAGE));
  });
});
