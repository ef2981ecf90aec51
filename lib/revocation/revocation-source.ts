/**
 * Where revocations come from: the narrow I/O edge of the revocation check. DynamoDB in
 * production and locally (dynalite), a fake in unit tests.
 */
import type { Revocation } from './revocation-entry.js';

export interface RevocationPage {
  revocations: Revocation[];
  /** Items read that were not revocations (written by something else, or damaged): skipped, and counted. */
  skipped: number;
}

export interface RevocationSource {
  /** Every entry whose sort key is above `after` (all of them when undefined). Rejects on any failure. */
  entriesAfter(after: string | undefined, signal: AbortSignal): Promise<RevocationPage>;
}
