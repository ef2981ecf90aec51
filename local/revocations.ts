/** The revocations table on a local DynamoDB (dynalite), built from revocations-table.json like the deployed one. */
import { readFileSync } from 'node:fs';
import { CreateTableCommand, type CreateTableCommandInput, DescribeTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';

export function revocationsTableDefinition(tableName: string): CreateTableCommandInput {
  // TimeToLiveSpecification is CloudFormation's; CreateTable takes no TTL (and dynalite keeps no TTL).
  const { $comment: _comment, TimeToLiveSpecification: _ttl, ...properties } = JSON.parse(readFileSync(new URL('../revocations-table.json', import.meta.url), 'utf8')) as Record<string, unknown>;
  return { ...properties, TableName: tableName } as CreateTableCommandInput;
}

/** Creates the table if it is missing and resolves once it is ACTIVE (within 10 s). */
export async function createRevocationsTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    try {
      await client.send(new CreateTableCommand(revocationsTableDefinition(tableName)));
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
