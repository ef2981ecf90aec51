/**
 * DynamoDbReplayStore (lib/dpop/dynamodb-replay-store.ts) against a real DynamoDB API: dynalite on
 * 127.0.0.1, started and stopped here, with the replay table (key `pk`, S) created as
 * dpop-replay-table.json describes it.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbReplayStore } from '../../../lib/dpop/dynamodb-replay-store.js';
import { replayKey } from '../../../lib/dpop/replay-guard.js';
import { type RunningDynamoDb, startDynamoDb } from '../../../local/dynamodb.js';

const TABLE = 'dpop-replay-unit';
const THUMBPRINT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
let dynamo: RunningDynamoDb;
let client: DynamoDBClient;

const deadline = () => AbortSignal.timeout(5_000);

before(async () => {
  dynamo = await startDynamoDb({ port: 0, tableName: 'calendar-unused' });
  client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await client.send(new CreateTableCommand({
    TableName: TABLE, AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST',
  }));
});

after(async () => {
  client?.destroy();
  await dynamo?.stop();
});

describe('DynamoDbReplayStore on dynalite', () => {
  it('the first claim of a key is true, the second false, another key true', { timeout: 30_000 }, async () => {
    const store = new DynamoDbReplayStore({ tableName: TABLE, endpoint: dynamo.endpoint, region: 'us-east-1' });
    const key = replayKey(THUMBPRINT, 'jti-1');
    assert.equal(await store.claim(key, 1_800_000_305, deadline()), true);
    assert.equal(await store.claim(key, 1_800_000_305, deadline()), false);
    assert.equal(await store.claim(key, 1_900_000_000, deadline()), false, 'a later expiry does not renew a seen key');
    assert.equal(await store.claim(replayKey(THUMBPRINT, 'jti-2'), 1_800_000_305, deadline()), true);
  });

  it('two stores (two containers) on one table: the key is claimed once between them', { timeout: 30_000 }, async () => {
    const a = new DynamoDbReplayStore({ tableName: TABLE, endpoint: dynamo.endpoint });
    const b = new DynamoDbReplayStore({ tableName: TABLE, endpoint: dynamo.endpoint });
    const key = replayKey(THUMBPRINT, 'jti-fleet');
    const answers = await Promise.all([a.claim(key, 1_800_000_305, deadline()), b.claim(key, 1_800_000_305, deadline())]);
    assert.deepEqual(answers.sort(), [false, true]);
  });

  it('writes the TTL attribute (expiresAt, whole seconds, rounded up) and nothing the client chose', { timeout: 30_000 }, async () => {
    const store = new DynamoDbReplayStore({ tableName: TABLE, endpoint: dynamo.endpoint });
    const key = replayKey(THUMBPRINT, 'jti-ttl');
    assert.equal(await store.claim(key, 1_800_000_305.2, deadline()), true);
    const { Item } = await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: key } }, ConsistentRead: true }));
    assert.deepEqual(Item, { pk: { S: key }, expiresAt: { N: '1800000306' } });
  });

  it('a table that does not exist rejects: no answer, neither true nor false', { timeout: 30_000 }, async () => {
    const store = new DynamoDbReplayStore({ tableName: 'no-such-table', endpoint: dynamo.endpoint });
    await assert.rejects(store.claim(replayKey(THUMBPRINT, 'jti-x'), 1_800_000_305, deadline()), /ResourceNotFound|non-existent|not found/i);
  });

  it('an unreachable endpoint (a closed port) rejects', { timeout: 30_000 }, async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const store = new DynamoDbReplayStore({ tableName: TABLE, endpoint });
    await assert.rejects(store.claim(replayKey(THUMBPRINT, 'jti-closed'), 1_800_000_305, AbortSignal.timeout(2_000)));
  });

  it('an endpoint that accepts and never answers rejects once the abort signal fires', { timeout: 30_000 }, async () => {
    const sockets = new Set<Socket>();
    const hanging = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    try {
      const store = new DynamoDbReplayStore({ tableName: TABLE, endpoint: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}` });
      const signal = AbortSignal.timeout(300);
      await assert.rejects(store.claim(replayKey(THUMBPRINT, 'jti-hang'), 1_800_000_305, signal));
      assert.equal(signal.aborted, true, 'it was the deadline that ended the wait');
      assert.ok(sockets.size >= 1, 'the store did connect');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  });

  it('an already aborted signal rejects without writing', { timeout: 30_000 }, async () => {
    const store = new DynamoDbReplayStore({ tableName: TABLE, endpoint: dynamo.endpoint });
    const key = replayKey(THUMBPRINT, 'jti-aborted');
    await assert.rejects(store.claim(key, 1_800_000_305, AbortSignal.abort()));
    const { Item } = await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: key } }, ConsistentRead: true }));
    assert.equal(Item, undefined);
    assert.equal(await store.claim(key, 1_800_000_305, deadline()), true, 'the key is still free');
  });
});
