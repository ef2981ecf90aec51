/**
 * The fleet-wide DPoP replay store: one conditional PutItem per proof, which fails if the key is
 * there. Items carry a TTL (`expiresAt`): DynamoDB deletes them once no proof they name could pass.
 * The SDK is loaded on first use and never bundled (the Lambda runtime ships it).
 */
import type { ReplayStore } from './replay-guard.js';

export interface DynamoDbReplayStoreOptions {
  tableName: string;
  /** A local endpoint (dynalite); undefined on AWS. */
  endpoint?: string | undefined;
  region?: string | undefined;
}

type Sdk = typeof import('@aws-sdk/client-dynamodb');

export class DynamoDbReplayStore implements ReplayStore {
  private readonly options: DynamoDbReplayStoreOptions;
  private client: Promise<{ sdk: Sdk; client: InstanceType<Sdk['DynamoDBClient']> }> | undefined;

  constructor(options: DynamoDbReplayStoreOptions) {
    this.options = options;
  }

  private connect() {
    this.client ??= import('@aws-sdk/client-dynamodb').then((sdk) => ({
      sdk,
      client: new sdk.DynamoDBClient({
        ...(this.options.endpoint === undefined ? {} : { endpoint: this.options.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
        region: this.options.region ?? process.env['AWS_REGION'] ?? 'us-east-1',
        // The guard has its own deadline; a retry would only outlast it.
        maxAttempts: 1,
      }),
    }));
    this.client.catch(() => (this.client = undefined));
    return this.client;
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
