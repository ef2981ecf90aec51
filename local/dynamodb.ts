/** The local DynamoDB: dynalite in this process, with the calendar table created from calendar-table.json. */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, type CreateTableCommandInput, DescribeTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

export interface RunningDynamoDb {
  endpoint: string;
  stop(): Promise<void>;
}

export function calendarTableDefinition(tableName: string): CreateTableCommandInput {
  const { $comment: _comment, ...properties } = JSON.parse(readFileSync(new URL('../calendar-table.json', import.meta.url), 'utf8')) as Record<string, unknown>;
  return { ...properties, TableName: tableName } as CreateTableCommandInput;
}

/**
 * Resolves once the table can be used. dynalite answers from its first connection (its handler is
 * in place when it listens), and the table is created through that same port, so the endpoint is
 * only handed out after the table is ACTIVE: dynalite keeps a new table CREATING until a timer
 * fires, and until then answers every item operation with ResourceNotFoundException.
 */
export async function startDynamoDb(options: { port: number; host?: string; tableName: string }): Promise<RunningDynamoDb> {
  const host = options.host ?? '127.0.0.1';
  // In memory: the local stack starts empty every time.
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const endpoint = `http://${host}:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    try {
      await client.send(new CreateTableCommand(calendarTableDefinition(options.tableName)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    // Each DescribeTable is a loopback round trip; with createTableMs 0 the first or second says ACTIVE.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: options.tableName }));
      // (Local secondary indexes have no status of their own: they are created with the table.)
      if (Table?.TableStatus === 'ACTIVE') break;
      if (Date.now() > deadline) throw new Error(`dynalite: table ${options.tableName} is still ${Table?.TableStatus ?? 'missing'} after 10 s`);
    }
  } catch (error) {
    await new Promise<void>((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    });
    throw error;
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}
