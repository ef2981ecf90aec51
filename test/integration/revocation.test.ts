/**
 * Revocation against a real DynamoDB (dynalite on 127.0.0.1, started here): the writer the CLI and
 * the issuer's hooks use, the source the authorizer reads, and the authorizer deciding on both. The
 * refresher's clock is the test's, so "within the refresh interval" needs no sleep.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createAuthorizer } from '../../lib/authorizer/authorizer.js';
import { loadConfig } from '../../lib/authorizer/config.js';
import { parseRouteTable } from '../../lib/authorizer/route-table.js';
import { TokenVerifier } from '../../lib/jwt/token-verifier.js';
import { DynamoDbRevocationSource } from '../../lib/revocation/dynamodb-revocation-source.js';
import { RevocationRefresher } from '../../lib/revocation/revocation-refresher.js';
import { RevocationWriter } from '../../lib/revocation/revocation-writer.js';
import { type RunningDynamoDb, startDynamoDb } from '../../local/dynamodb.js';
import { createRevocationsTable } from '../../local/revocations.js';
import routeTableDocument from '../../routes.json' with { type: 'json' };
import { JwksServer } from '../helpers/jwks-server.js';
import { generateTestKey, jwks, signJwt, userClaims } from '../helpers/jwt.js';
import { arnFor, policyAllows } from '../helpers/policy.js';

const TABLE = 'revocations-test';
const key = generateTestKey('ES256', 'revocation-key');
let dynamodb: RunningDynamoDb;
let server: JwksServer;
let writer: RevocationWriter;

before(async () => {
  server = await new JwksServer().start();
  server.jwks = jwks(key);
  dynamodb = await startDynamoDb({ port: 0, tableName: 'calendar-unused' });
  await createRevocationsTable(dynamodb.endpoint, TABLE);
  writer = new RevocationWriter({ tableName: TABLE, endpoint: dynamodb.endpoint });
});

after(async () => {
  writer?.close();
  await dynamodb?.stop();
  await server?.stop();
});

/** An authorizer with revocation on, reading the table through the real source, on the test's clock. */
function authorizerWithRevocation(options: { maxStalenessSeconds?: number; failOpen?: boolean; endpoint?: string } = {}) {
  const clock = { now: Date.now() };
  const config = loadConfig({ AUTH_ISSUER: server.issuer, AUTH_JWKS_URI: server.jwksUri, AUTH_REVOCATION_TABLE: TABLE, AUTH_REVOCATION_ENDPOINT: options.endpoint ?? dynamodb.endpoint });
  const revocations = new RevocationRefresher(new DynamoDbRevocationSource({ tableName: TABLE, endpoint: options.endpoint ?? dynamodb.endpoint }), {
    ...config.revocation!, maxStalenessSeconds: options.maxStalenessSeconds ?? 60, failOpen: options.failOpen ?? false, timeoutMs: 2000,
    maxTokenLifetimeSeconds: config.maxTokenLifetimeSeconds,
  }, { now: () => clock.now });
  revocations.start();
  const authorize = createAuthorizer({ config, routes: parseRouteTable(routeTableDocument), verifier: new TokenVerifier(config), revocations });
  const decide = async (token: string, method = 'GET', path = '/calendar/v1/events') => {
    const arn = arnFor(method, path);
    return authorize({ type: 'REQUEST', methodArn: arn, headers: { Authorization: `Bearer ${token}` } });
  };
  return { clock, decide, revocations };
}

const now = () => Math.floor(Date.now() / 1000);

describe('revocation through a real DynamoDB', () => {
  it('one token by (iss, jti): allowed, revoked, refused at its next use after the refresh interval, even from the decision cache', async () => {
    const { clock, decide } = authorizerWithRevocation();
    const token = signJwt(key, userClaims(server.issuer, { jti: 'jti-revoked-1', iat: now() }));
    const other = signJwt(key, userClaims(server.issuer, { jti: 'jti-kept-1', iat: now() }));
    assert.equal((await decide(token)).outcome, 'allow');
    assert.equal((await decide(token)).cached, true, 'remembered by the decision cache');
    await writer.revoke({ kind: 'token', issuer: server.issuer, value: 'jti-revoked-1' });
    // Within the interval the container has not asked yet; past it, the next request waits for the refresh.
    clock.now += 5_000;
    const refused = await decide(token);
    assert.deepEqual([refused.outcome, refused.reason], ['unauthorized', 'token_revoked']);
    assert.equal(refused.retryable, false, 'a revocation is a verdict: 401');
    assert.equal((await decide(other)).outcome, 'allow', 'another token of the same user');
  });

  it('sign-out everywhere by (iss, sub): tokens issued before are refused, a token issued after passes', async () => {
    const { clock, decide } = authorizerWithRevocation();
    const before = signJwt(key, userClaims(server.issuer, { sub: 'usr_signout', iat: now() - 60 }));
    assert.equal((await decide(before)).outcome, 'allow');
    await writer.revoke({ kind: 'subject', issuer: server.issuer, value: 'usr_signout' });
    clock.now += 5_000;
    assert.equal((await decide(before)).reason, 'token_revoked');
    const after = signJwt(key, userClaims(server.issuer, { sub: 'usr_signout', iat: now() + 1 }));
    assert.equal((await decide(after)).outcome, 'allow');
  });

  it('a leaked client secret by (iss, client id): every token of that client issued before is refused, whoever the user', async () => {
    const { clock, decide } = authorizerWithRevocation();
    const token = signJwt(key, userClaims(server.issuer, { sub: 'usr_c', client_id: 'leaky-app', iat: now() - 60 }));
    const result = await decide(token);
    assert.ok(policyAllows(result.result!, arnFor('GET', '/calendar/v1/events')));
    await writer.revoke({ kind: 'client', issuer: server.issuer, value: 'leaky-app' });
    clock.now += 5_000;
    assert.equal((await decide(token)).reason, 'token_revoked');
  });

  it('store down: the last list serves for the maximum staleness, then requests are refused as a transient failure, bounded in time', async () => {
    // A DynamoDB that is not there: a closed port.
    const gone = await startDynamoDb({ port: 0, tableName: 'calendar-unused' });
    await createRevocationsTable(gone.endpoint, TABLE);
    const { clock, decide } = authorizerWithRevocation({ maxStalenessSeconds: 30, endpoint: gone.endpoint });
    const token = signJwt(key, userClaims(server.issuer, { iat: now() }));
    assert.equal((await decide(token)).outcome, 'allow');
    await gone.stop();
    clock.now += 10_000;
    const started = performance.now();
    assert.equal((await decide(token)).outcome, 'allow', 'within the staleness bound');
    clock.now += 25_000;
    const refused = await decide(token);
    assert.deepEqual([refused.outcome, refused.reason, refused.retryable], ['unauthorized', 'revocation_unavailable', true]);
    assert.equal(refused.result, undefined, 'no policy that API Gateway could cache');
    assert.ok(performance.now() - started < 8_000, 'each wait is bounded by the refresh deadline');
  });

  it('a store that accepts connections and never answers: the cold start is refused within its deadline, as a transient failure', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const hanging = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    try {
      const { decide } = authorizerWithRevocation({ endpoint: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}` });
      const started = performance.now();
      const refused = await decide(signJwt(key, userClaims(server.issuer, { iat: now() })));
      const waited = performance.now() - started;
      assert.deepEqual([refused.outcome, refused.reason, refused.retryable], ['unauthorized', 'revocation_unavailable', true]);
      assert.ok(waited < 10_000, `waited ${Math.round(waited)} ms for a cold-start deadline of 4 × 2000 ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  });

  it('store down with fail open chosen: requests keep being allowed past the staleness bound', async () => {
    const gone = await startDynamoDb({ port: 0, tableName: 'calendar-unused' });
    const endpoint = gone.endpoint;
    await gone.stop();
    const { decide } = authorizerWithRevocation({ failOpen: true, endpoint });
    assert.equal((await decide(signJwt(key, userClaims(server.issuer, { iat: now() })))).outcome, 'allow');
  });
});
