/**
 * A DPoP proof is accepted once (RFC 9449 §11.1): its `jti`, for the key that signed it, is
 * remembered for as long as the proof could pass the `iat` window. In this container's memory,
 * and across the fleet by a conditional write to a shared store, when one is configured.
 */
import { createHash } from 'node:crypto';
import { AuthError } from '../errors.js';
import { LruCache } from '../shared/lru-cache.js';

/** The fleet-wide store: `claim` is true the first time a key is written, false if it was there. */
export interface ReplayStore {
  claim(key: string, expiresAt: number, signal: AbortSignal): Promise<boolean>;
}

export interface ReplayGuardOptions {
  /** Proofs remembered in this container (LRU); the store covers what falls out. */
  cacheSize: number;
  /** The store's deadline. */
  timeoutMs: number;
  /**
   * When the store cannot be asked: false refuses as a transient failure (dpop_replay_unavailable);
   * true accepts on this container's memory alone. The operator's choice, logged at cold start.
   */
  containerOnlyWhenStoreDown: boolean;
}

export interface ReplayEvent {
  type: 'dpop_replay_store_failed';
  detail: string;
}

/** One key per (signing key, jti): two clients may pick the same jti; hashed, so the store holds nothing the client chose. */
export function replayKey(thumbprint: string, jti: string): string {
  return createHash('sha256').update(`${thumbprint} ${jti}`, 'utf8').digest('base64url');
}

export class DpopReplayGuard {
  private readonly options: ReplayGuardOptions;
  private readonly store: ReplayStore | undefined;
  private readonly onEvent: ((event: ReplayEvent) => void) | undefined;
  /** key → until when (seconds since the epoch) a replay could pass. */
  private readonly seen: LruCache<string, number>;

  constructor(options: ReplayGuardOptions, store?: ReplayStore, onEvent?: (event: ReplayEvent) => void) {
    this.options = options;
    this.store = store;
    this.onEvent = onEvent;
    this.seen = new LruCache(options.cacheSize);
  }

  /**
   * Records the proof, or refuses it (dpop_proof_replayed) if it was seen before within its window.
   * Synchronous without a store; with one, a promise of the store's answer.
   */
  check(key: string, expiresAt: number, now: number): void | Promise<void> {
    const until = this.seen.get(key);
    if (until !== undefined && until >= now) throw new AuthError('dpop_proof_replayed', 'this DPoP proof (its jti, for its key) was used before');
    // Remembered before the store answers: a second copy racing the first in this container loses.
    this.seen.set(key, expiresAt);
    if (this.store === undefined) return undefined;
    return this.store.claim(key, expiresAt, AbortSignal.timeout(this.options.timeoutMs)).then(
      (first) => {
        if (!first) throw new AuthError('dpop_proof_replayed', 'this DPoP proof (its jti, for its key) was used before, on another container');
      },
      (error: unknown) => {
        const detail = `the DPoP replay store could not be asked: ${error instanceof Error ? error.message : String(error)}`;
        this.onEvent?.({ type: 'dpop_replay_store_failed', detail });
        if (this.options.containerOnlyWhenStoreDown) return;
        // Not a verdict on the proof: this one may be sent again once the store answers.
        this.seen.delete(key);
        throw new AuthError('dpop_replay_unavailable', detail, { cause: error });
      },
    );
  }
}
