/**
 * A DynamoDB client made on first use, for the authorizer's stores (revocations, DPoP replay). The
 * SDK is imported then, never bundled: the Lambda runtime ships it, and a feature that is off never
 * loads it. A failed import is forgotten, so the next use tries again.
 */
export type DynamoDbSdk = typeof import('@aws-sdk/client-dynamodb');
export type DynamoDbKey = Record<string, import('@aws-sdk/client-dynamodb').AttributeValue>;

export interface DynamoDbConnection {
  sdk: DynamoDbSdk;
  client: InstanceType<DynamoDbSdk['DynamoDBClient']>;
}

export interface DynamoDbClientOptions {
  /** A local endpoint (dynalite); undefined on AWS. */
  endpoint?: string | undefined;
  region?: string | undefined;
}

export function lazyDynamoDb(options: DynamoDbClientOptions): () => Promise<DynamoDbConnection> {
  let connection: Promise<DynamoDbConnection> | undefined;
  return () => {
    connection ??= import('@aws-sdk/client-dynamodb').then((sdk) => ({
      sdk,
      client: new sdk.DynamoDBClient({
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
        region: options.region ?? process.env['AWS_REGION'] ?? 'us-east-1',
        // Each caller has its own deadline and retries on the next request; an SDK retry would
        // only outlast it.
        maxAttempts: 1,
      }),
    }));
    connection.catch(() => (connection = undefined));
    return connection;
  };
}
