/**
 * DPoP through the real handler, with the fleet-wide replay store on a real DynamoDB (dynalite on
 * 127.0.0.1): two module instances are two containers, so a proof used on one is refused on the
 * other; the store down refuses as a transient failure, or, by the operator's explicit choice,
 * falls back to the container's memory; and no proof or token reaches the output.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { type RunningDynamoDb, startDynamoDb } from '../../local/dynamodb.js';
import { dpopProof, thumbprintOf } from '../helpers/dpop.js';
import { generateTestKey, jwks, signJwt, userClaims } from '../helpers/jwt.js';
import { type CapturedOutput, captureOutput, decideWith } from '../helpers/output-capture.js';
import { arnFor } from '../helpers/policy.js';

type Handler = (event: unknown) => Promise<APIGatewayAuthorizerResult>;

const ISSUER = 'https://issuer.dpop.example/';
const DOMAIN = 'abc123.execute-api.eu-west-1.amazonaws.com';
const URL_REST = `https://${DOMAIN}/prod/calendar/v1/events`;
const issuerKey = generateTestKey('ES256', 'issuer-1');
const clientKey = generateTestKey('ES256');
const token = signJwt(issuerKey, userClaims(ISSUER, { scope: 'read write', cnf: { jkt: thumbprintOf(clientKey) } }));
const TABLE = 'dpop-replay-test';

let dynamo: RunningDynamoDb;
let closedEndpoint: string;
let captured: CapturedOutput | undefined;
let output: string[] = [];
const given: string[] = [token];

/** A container: a fresh instance of the handler module, configured from its own environment. */
async function container(tag: string, env: Record<string, string>): Promise<Handler> {
  const base = {
    AUTH_ISSUER: ISSUER, AUTH_JWKS_URI: 'http://127.0.0.1:9/jwks', AUTH_JWKS_SNAPSHOT: JSON.stringify(jwks(issuerKey)), AUTH_LOG_LEVEL: 'info',
    AUTH_METRICS: 'false', AUTH_DPOP_ON_ALL_ROUTES: 'true', ...(env['AUTH_DPOP_REPLAY_TABLE'] === undefined ? {} : { AUTH_DPOP_REPLAY_TIMEOUT_MS: '300' }),
  };
  const all = { ...base, ...env };
  const saved = Object.fromEntries(Object.keys(all).map((name) => [name, process.env[name]]));
  Object.assign(process.env, all);
  try {
    return ((await import(`../../handlers/authorizer.ts?${tag}`)) as { handler: Handler }).handler;
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

const restEvent = (proof: string | undefined, method = 'GET', authorization = `DPoP ${token}`) => {
  if (proof !== undefined) given.push(proof);
  return {
    type: 'REQUEST', methodArn: arnFor(method, '/calendar/v1/events'), httpMethod: method,
    headers: { Authorization: authorization, ...(proof === undefined ? {} : { DPoP: proof }) },
    requestContext: { domainName: DOMAIN, path: '/prod/calendar/v1/events' },
  };
};
const proof = (overrides: Parameters<typeof dpopProof>[1] extends infer P ? Partial<P> : never = {}) => dpopProof(clientKey, { htm: 'GET', htu: URL_REST, token, ...overrides });

/** The handler's answer (Allow/Deny, or the thrown message) and its decision line. */
const decide = (handler: Handler, event: { methodArn?: string; routeArn?: string }) => decideWith(captured!, handler, event);

before(async () => {
  dynamo = await startDynamoDb({ port: 0, tableName: 'unused-calendar' });
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await client.send(new CreateTableCommand({ TableName: TABLE, AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));
  client.destroy();
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  closedEndpoint = `http://127.0.0.1:${(closed.address() as { port: number }).port}`;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  captured = captureOutput();
  output = captured.chunks;
});

after(async () => {
  captured?.restore();
  await dynamo?.stop();
});

describe('DPoP replay across the fleet (a conditional write to DynamoDB)', () => {
  it('a proof used on one container is refused on another; a fresh proof is not', { timeout: 30_000 }, async () => {
    const store = { AUTH_DPOP_REPLAY_TABLE: TABLE, AUTH_DPOP_REPLAY_ENDPOINT: dynamo.endpoint };
    const [a, b] = [await container('a', store), await container('b', store)];
    const once = proof();
    assert.equal((await decide(a, restEvent(once))).effect, 'Allow');
    const replayed = await decide(b, restEvent(once));
    assert.equal(replayed.thrown, 'Unauthorized');
    assert.equal(replayed.line['reason'], 'dpop_proof_replayed');
    assert.match(String(replayed.line['detail']), /another container/);
    // On the container that saw it, memory answers before the store.
    assert.equal((await decide(a, restEvent(once))).line['reason'], 'dpop_proof_replayed');
    assert.equal((await decide(b, restEvent(proof()))).effect, 'Allow');
  });

  it('an HTTP API event: the URL from rawPath, a Deny for a replay', { timeout: 30_000 }, async () => {
    const handler = await container('http', { AUTH_DPOP_REPLAY_TABLE: TABLE, AUTH_DPOP_REPLAY_ENDPOINT: dynamo.endpoint });
    const url = `https://${DOMAIN}/calendar/v1/events`;
    const event = (value: string) => {
      given.push(value);
      return {
        version: '2.0', type: 'REQUEST', routeArn: arnFor('GET', '/calendar/v1/events'), rawPath: '/calendar/v1/events',
        headers: { authorization: `DPoP ${token}`, dpop: value }, requestContext: { domainName: DOMAIN, http: { method: 'GET', path: '/calendar/v1/events' } },
      };
    };
    const value = proof({ htu: url });
    assert.equal((await decide(handler, event(value))).effect, 'Allow');
    const again = await decide(handler, event(value));
    assert.equal(again.effect, 'Deny');
    assert.equal(again.line['reason'], 'dpop_proof_replayed');
  });

  it('the store down: refused as a transient failure (5xx, nothing cached), within the deadline', { timeout: 30_000 }, async () => {
    const handler = await container('down', { AUTH_DPOP_REPLAY_TABLE: TABLE, AUTH_DPOP_REPLAY_ENDPOINT: closedEndpoint });
    const startedAt = performance.now();
    const { thrown, line } = await decide(handler, restEvent(proof()));
    assert.match(thrown ?? '', /Authorizer unavailable/);
    assert.equal(line['reason'], 'dpop_replay_unavailable');
    assert.equal(line['level'], 'ERROR');
    assert.ok(performance.now() - startedAt < 10_000, 'bounded');
    assert.ok(output.join('').includes('"message":"dpop_replay_store_failed"'), 'the store failure is logged');
  });

  it('the store down, container memory by explicit choice: accepted, said at WARN when loaded, and a replay on this container still refused', { timeout: 30_000 }, async () => {
    const mark = output.length;
    const handler = await container('fallback', { AUTH_DPOP_REPLAY_TABLE: TABLE, AUTH_DPOP_REPLAY_ENDPOINT: closedEndpoint, AUTH_DPOP_REPLAY_CONTAINER_ONLY: 'true' });
    const once = proof();
    assert.equal((await decide(handler, restEvent(once))).effect, 'Allow');
    assert.equal((await decide(handler, restEvent(once))).line['reason'], 'dpop_proof_replayed');
    const config = output.slice(mark).join('').split('\n').find((line) => line.includes('"message":"dpop_config"'));
    assert.ok(config?.includes('"level":"WARN"') && config.includes('AUTH_DPOP_REPLAY_CONTAINER_ONLY=true'), config);
  });

  it('without a store: this container\'s memory alone, and the bearer rules', { timeout: 30_000 }, async () => {
    const handler = await container('memory', {});
    const once = proof();
    assert.equal((await decide(handler, restEvent(once))).effect, 'Allow');
    assert.equal((await decide(handler, restEvent(once))).line['reason'], 'dpop_proof_replayed');
    assert.equal((await decide(handler, restEvent(proof({ htm: 'POST' })))).line['reason'], 'dpop_proof_invalid');
    assert.equal((await decide(handler, restEvent(undefined, 'GET', `Bearer ${token}`))).line['reason'], 'dpop_proof_required');
  });

  it('nothing written holds a proof or the token', () => {
    const all = output.join('');
    assert.ok(all.includes('"message":"decision"'));
    for (const value of given) {
      for (const part of value.split('.')) if (part.length >= 16) assert.ok(!all.includes(part), 'a token or proof part reached the output');
    }
  });
});
