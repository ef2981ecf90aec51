/**
 * The fleet-wide DPoP replay store: one conditional PutItem per proof, which fails if the key is
 * there. Items carry a TTL (`expiresAt`): DynamoDB deletes them once no proof they name could pass.
 * The SDK is loaded on first use and never bundled (the Lambda runtime ships it).
 */
import { type DynamoDbConnection, lazyDynamoDb } from '../shared/dynamodb-client.js';
import type { ReplayStore } from './replay-guard.js';

export interface DynamoDbReplayStoreOptions {
  tableName: string;
  /** A local endpoint (dynalite); undefined on AWS. */
  endpoint?: string | undefined;
  region?: string | undefined;
}

export class DynamoDbReplayStore implements ReplayStore {
  private readonly options: DynamoDbReplayStoreOptions;
  private readonly connect: () => Promise<DynamoDbConnection>;

  constructor(options: DynamoDbReplayStoreOptions) {
    this.options = options;
    this.connect = lazyDynamoDb(options);
  }

  /** Starts loading the SDK now (cold start), so the first proof does not wait for it. */
  prefetch(): void {
    this.connect().catch(() => undefined);
  }

  async claim(key: string, expiresAt: number, signal: AbortSignal): Promise<boolean> {
    const { sdk, client } = await this.connect();
    try {
      await client.send(new sdk.PutItemCommand({
        TableName: this.options.tableName,
        Item: { pk: { S: key }, expiresAt: { N: String(Math.ceil(expiresAt)) } },
        ConditionExpression: 'attribute_not_exists(pk)',
      }), { abortSignal: signal });
      return true;
    } catch (error) {
      if (error instanceof sdk.ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
