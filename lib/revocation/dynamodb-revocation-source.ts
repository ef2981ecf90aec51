/**
 * Revocations read from DynamoDB: one Query on the single partition, for sort keys above the last
 * one asked about, so a refresh reads only what was written since (and the overlap). The AWS SDK is
 * loaded on first use and never bundled: the Lambda runtime ships it, and an authorizer without
 * revocation never loads it (no cold-start cost).
 */
import { type DynamoDbConnection, type DynamoDbKey, lazyDynamoDb } from '../shared/dynamodb-client.js';
import { PARTITION, revocationOfItem } from './revocation-entry.js';
import type { RevocationPage, RevocationSource } from './revocation-source.js';

export interface DynamoDbRevocationSourceOptions {
  tableName: string;
  /** A local endpoint (dynalite); undefined on AWS. */
  endpoint?: string | undefined;
  region?: string | undefined;
  /** Pages read per refresh at most: a runaway table cannot stall a request. */
  maxPages?: number;
}

export class DynamoDbRevocationSource implements RevocationSource {
  private readonly options: DynamoDbRevocationSourceOptions;
  private readonly connect: () => Promise<DynamoDbConnection>;

  constructor(options: DynamoDbRevocationSourceOptions) {
    this.options = options;
    this.connect = lazyDynamoDb(options);
  }

  async entriesAfter(after: string | undefined, signal: AbortSignal): Promise<RevocationPage> {
    const { sdk, client } = await this.connect();
    const page: RevocationPage = { revocations: [], skipped: 0 };
    let start: DynamoDbKey | undefined;
    const maxPages = this.options.maxPages ?? 20;
    for (let pages = 0; ; pages += 1) {
      if (pages >= maxPages) throw new Error(`the revocations table returned more than ${maxPages} pages in one refresh`);
      const answer = await client.send(new sdk.QueryCommand({
        TableName: this.options.tableName,
        KeyConditionExpression: after === undefined ? 'pk = :p' : 'pk = :p AND sk > :after',
        ExpressionAttributeValues: after === undefined ? { ':p': { S: PARTITION } } : { ':p': { S: PARTITION }, ':after': { S: after } },
        ExclusiveStartKey: start,
        // Strongly consistent: an entry written just before this refresh must be in it, or the
        // bound on how long a revoked token passes would be two intervals, not one.
        ConsistentRead: true,
      }), { abortSignal: signal });
      for (const item of answer.Items ?? []) {
        const revocation = revocationOfItem(item as Parameters<typeof revocationOfItem>[0]);
        if (revocation === undefined) page.skipped += 1;
        else page.revocations.push(revocation);
      }
      start = answer.LastEvaluatedKey;
      if (start === undefined) return page;
    }
  }
}
