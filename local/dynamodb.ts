/** The local DynamoDB: dynalite in this process, with the calendar table created from calendar-table.json. */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, type CreateTableCommandInput, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

export interface RunningDynamoDb {
  endpoint: string;
  stop(): Promise<void>;
}

export function calendarTableDefinition(tableName: string): CreateTableCommandInput {
  const { $comment: _comment, ...properties } = JSON.parse(readFileSync(new URL('../calendar-table.json', import.meta.url), 'utf8')) as Record<string, unknown>;
  return { ...properties, TableName: tableName } as CreateTableCommandInput;
}

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
    await client.send(new CreateTableCommand(calendarTableDefinition(options.tableName)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
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
