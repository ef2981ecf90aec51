import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { APIGatewayAuthorizerResult, PolicyDocument } from 'aws-lambda';
import { createAuthorizer } from '../../../lib/authorizer/authorizer.js';
import { loadConfig } from '../../../lib/authorizer/config.js';
import { authorizerContext, buildPolicy, ownedResult, policyDocument } from '../../../lib/authorizer/policy.js';
import { parseRouteTable } from '../../../lib/authorizer/route-table.js';
import type { TokenClaims } from '../../../lib/jwt/claims.js';
import type { TokenVerifier } from '../../../lib/jwt/token-verifier.js';
import { CALENDAR_AUDIENCE } from '../../helpers/jwt.js';
import { arnFor, policyAllows, STAGE } from '../../helpers/policy.js';

const table = parseRouteTable(JSON.parse(readFileSync(new URL('../../../routes.json', import.meta.url), 'utf8')));
const calendarRoutes = table.routes.filter((route) => route.api.name === 'calendar');

const claims = (overrides: Partial<TokenClaims> = {}): TokenClaims => ({
  issuer: 'https://issuer.example/', subject: 'usr_123', audiences: [CALENDAR_AUDIENCE], expiresAt: 2000000000,
  clientId: 'calendar-app', scopes: new Set(['read', 'write']), tokenUse: 'user', ...overrides,
});

describe('policyDocument', () => {
  it('allows exactly the permitted routes in the request stage, parameters as wildcards', () => {
    assert.deepEqual(policyDocument(STAGE, calendarRoutes.slice(0, 3)), {
      Version: '2012-10-17',
      Statement: [{
        Action: 'execute-api:Invoke',
        Effect: 'Allow',
        Resource: [`${STAGE}/GET/calendar/v1/events`, `${STAGE}/POST/calendar/v1/events`, `${STAGE}/GET/calendar/v1/events/*`],
      }],
    });
  });

  it('with nothing permitted, denies the whole stage explicitly', () => {
    const document = policyDocument(STAGE, []);
    assert.deepEqual(document, { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: [`${STAGE}/*`] }] });
    assert.equal(policyAllows({ principalId: 'x', policyDocument: document }, arnFor('GET', '/calendar/v1/events')), false);
  });

  it('when the request\'s ARN could not be read, denies everything explicitly, whatever was permitted', () => {
    for (const permitted of [[], calendarRoutes]) {
      assert.deepEqual(policyDocument(undefined, permitted), { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: ['*'] }] });
    }
  });
});

describe('the HTTP API refusal for an event whose routeArn cannot be read', () => {
  const verified = { claims: claims(), kid: 'k' };
  const authorize = createAuthorizer({
    config: loadConfig({ AUTH_ISSUER: 'https://issuer.example/', AUTH_JWKS_URI: 'https://issuer.example/jwks' }),
    routes: table,
    verifier: { verify: async () => verified, verifyNow: () => ({ verified, cached: false }) } as unknown as TokenVerifier,
  });

  it('is an explicit Deny of every resource (an HTTP API answers a thrown error with a 500)', async () => {
    for (const routeArn of ['junk', `junk ${arnFor('GET', '/calendar/v1/events')}`, `${STAGE}/GETx`, 'arn:aws:execute-api:eu-west-1:123456789012:abc123/*/GET/calendar/v1/events']) {
      const decision = await authorize({ version: '2.0', type: 'REQUEST', routeArn, headers: { authorization: 'Bearer a.b.c' } });
      assert.equal(decision.outcome, 'unauthorized', routeArn);
      assert.equal(decision.reason, 'event_invalid', routeArn);
      const result = decision.result as APIGatewayAuthorizerResult;
      assert.equal(result.principalId, 'anonymous');
      assert.deepEqual(result.policyDocument.Statement, [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: ['*'] }], routeArn);
      assert.equal(result.context, undefined);
      assert.equal(policyAllows(result, arnFor('GET', '/calendar/v1/events')), false);
    }
  });
});

describe('buildPolicy, authorizerContext and ownedResult', () => {
  it('the context carries the token\'s facts as primitives, and clientId only when the token names a client', () => {
    assert.deepEqual(authorizerContext(claims()), { sub: 'usr_123', scope: 'read write', tokenUse: 'user', iss: 'https://issuer.example/', exp: 2000000000, clientId: 'calendar-app' });
    const noClient = authorizerContext(claims({ clientId: undefined, scopes: new Set(), tokenUse: 'unknown' }));
    assert.deepEqual(noClient, { sub: 'usr_123', scope: '', tokenUse: 'unknown', iss: 'https://issuer.example/', exp: 2000000000 });
    assert.equal('clientId' in noClient, false);
  });

  it('buildPolicy puts the principal, the document and the context together, and leaves out an absent context', () => {
    const context = authorizerContext(claims());
    assert.deepEqual(buildPolicy('usr_123', STAGE, calendarRoutes, context), { principalId: 'usr_123', policyDocument: policyDocument(STAGE, calendarRoutes), context });
    const bare = buildPolicy('anonymous', STAGE, [], undefined);
    assert.equal('context' in bare, false);
  });

  it('ownedResult gives each caller its own copies: editing one result changes neither the shared document nor the context', () => {
    const document = policyDocument(STAGE, calendarRoutes);
    const context = authorizerContext(claims());
    const before = JSON.parse(JSON.stringify({ document, context })) as unknown;
    const first = ownedResult('usr_123', document, context);
    assert.deepEqual(first, { principalId: 'usr_123', policyDocument: document, context });
    // What serverless offline or a wrapper might do to the result it received.
    (first.policyDocument.Statement[0] as { Resource: string[] }).Resource.push('*');
    (first.policyDocument.Statement[0] as { Effect: string }).Effect = 'Deny';
    first.policyDocument.Statement.push({ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: '*' });
    first.context!['sub'] = 'admin';
    assert.deepEqual(JSON.parse(JSON.stringify({ document, context })), before);
    assert.deepEqual(ownedResult('usr_123', document, context).policyDocument, document);
    // A statement whose Resource is a single string is copied as well.
    const single: PolicyDocument = { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: '*' }] };
    const copy = ownedResult('x', single, {});
    assert.deepEqual(copy.policyDocument, single);
    assert.notEqual(copy.policyDocument.Statement[0], single.Statement[0]);
  });
});
