/**
 * The authorizer's tables on a local DynamoDB (dynalite), each built from its JSON file like the
 * deployed one: the revocations table (revocations-table.json) and the DPoP replay table
 * (dpop-replay-table.json).
 */
import { readFileSync } from 'node:fs';
import { CreateTableCommand, type CreateTableCommandInput, DescribeTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';

function tableDefinition(file: string, tableName: string): CreateTableCommandInput {
  // TimeToLiveSpecification is CloudFormation's; CreateTable takes no TTL (and dynalite keeps no TTL).
  const { $comment: _comment, TimeToLiveSpecification: _ttl, ...properties } = JSON.parse(readFileSync(new URL(`../${file}`, import.meta.url), 'utf8')) as Record<string, unknown>;
  return { ...properties, TableName: tableName } as CreateTableCommandInput;
}

export function revocationsTableDefinition(tableName: string): CreateTableCommandInput {
  return tableDefinition('revocations-table.json', tableName);
}

export function dpopReplayTableDefinition(tableName: string): CreateTableCommandInput {
  return tableDefinition('dpop-replay-table.json', tableName);
}

/** Creates the table if it is missing and resolves once it is ACTIVE (within 10 s). */
async function createTable(endpoint: string, definition: CreateTableCommandInput): Promise<void> {
  const tableName = definition.TableName!;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    try {
      await client.send(new CreateTableCommand(definition));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table?.TableStatus === 'ACTIVE') return;
      if (Date.now() > deadline) throw new Error(`dynalite: table ${tableName} is still ${Table?.TableStatus ?? 'missing'} after 10 s`);
    }
  } finally {
    client.destroy();
  }
}

/** The revocations table, created if it is missing; resolves once it is ACTIVE (within 10 s). */
export async function createRevocationsTable(endpoint: string, tableName: string): Promise<void> {
  await createTable(endpoint, revocationsTableDefinition(tableName));
}

/** The DPoP replay table, created if it is missing; resolves once it is ACTIVE (within 10 s). */
export async function createDpopReplayTable(endpoint: string, tableName: string): Promise<void> {
  await createTable(endpoint, dpopReplayTableDefinition(tableName));
}
