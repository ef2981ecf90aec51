/**
 * Writing revocations: the CLI (npm run revoke) and the local issuer's hooks. Never the authorizer,
 * whose role may only read the table.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { itemOf, type Revocation, type RevocationKind, sortKeyOf } from './revocation-entry.js';
import { CLOCK_MARGIN_SECONDS } from './revocation-list.js';

export interface RevocationRequest {
  kind: RevocationKind;
  issuer: string;
  value: string;
  /** Token: its `exp`, when known (the entry can expire with it). Seconds. */
  expiresAt?: number | undefined;
  /** Subject or client: refuse tokens issued before this time (seconds); now when absent. */
  notBefore?: number | undefined;
}

/**
 * The entry to store. A subject or client entry lives as long as the longest token it could match
 * (`maxTokenLifetimeSeconds` after its time), a token entry until that token's `exp` (or as long,
 * when the `exp` is not known).
 */
export function revocationFor(request: RevocationRequest, nowMs: number, maxTokenLifetimeSeconds: number): Revocation {
  const now = Math.floor(nowMs / 1000);
  if (request.issuer === '' || request.value === '') throw new Error('a revocation needs an issuer and a value');
  if (request.kind === 'token') {
    // A token is accepted up to the clock tolerance past its exp: the entry outlives it by as much.
    return { kind: 'token', issuer: request.issuer, value: request.value, notBefore: undefined, expiresAt: (request.expiresAt ?? now + maxTokenLifetimeSeconds) + CLOCK_MARGIN_SECONDS };
  }
  // The current second: a token issued in the same second, before the revocation, still passes (iat has whole seconds only).
  const notBefore = request.notBefore ?? now;
  // Every token it matches was issued before notBefore, so it expires by then plus the lifetime cap
  // (measured from iat) and the clock tolerance on each side.
  return { kind: request.kind, issuer: request.issuer, value: request.value, notBefore, expiresAt: notBefore + maxTokenLifetimeSeconds + 2 * CLOCK_MARGIN_SECONDS };
}

export interface RevocationWriterOptions {
  tableName: string;
  endpoint?: string | undefined;
  region?: string | undefined;
  maxTokenLifetimeSeconds?: number;
  now?: () => number;
}

export class RevocationWriter {
  private readonly client: DynamoDBClient;
  private readonly options: RevocationWriterOptions;

  constructor(options: RevocationWriterOptions) {
    this.options = options;
    this.client = new DynamoDBClient({
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
      region: options.region ?? process.env['AWS_REGION'] ?? 'us-east-1',
    });
  }

  async revoke(request: RevocationRequest): Promise<Revocation> {
    const nowMs = (this.options.now ?? Date.now)();
    const revocation = revocationFor(request, nowMs, this.options.maxTokenLifetimeSeconds ?? 2_592_000);
    await this.client.send(new PutItemCommand({ TableName: this.options.tableName, Item: itemOf(revocation, sortKeyOf(nowMs, randomUUID())) }));
    return revocation;
  }

  close(): void {
    this.client.destroy();
  }
}
