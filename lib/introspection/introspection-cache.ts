import type { AuthError } from '../errors.js';
import type { Verification } from '../jwt/verified-token-cache.js';
import { LruCache } from '../shared/lru-cache.js';

/** What the issuer answered for one token, and how long that answer may stand in for asking again. */
export type IntrospectionEntry =
  | {
    /** Handed out on every hit, the same object each time (the decision memo keys on it). */
    readonly hit: Verification;
    /** Milliseconds since the epoch: until then, a hit needs no call. */
    readonly freshUntil: number;
    /** Until then, the answer may stand in while the issuer cannot be reached (stale-if-error). */
    readonly staleUntil: number;
  }
  | {
    /** A definitive refusal (token_inactive, or an active response the claim rules refuse). */
    readonly refusal: AuthError;
    readonly freshUntil: number;
  };

/**
 * Introspection answers by token, in this container (an LRU: a flood of distinct tokens evicts the
 * oldest, never grows it). Keyed by the whole token: opaque tokens are short, and a hit must be the
 * very same bytes. The entries' times are set by TokenIntrospector; this only stores them.
 */
export class IntrospectionCache {
  private readonly entries: LruCache<string, IntrospectionEntry>;

  constructor(capacity: number) {
    this.entries = new LruCache(capacity);
  }

  get size(): number {
    return this.entries.size;
  }

  get(token: string): IntrospectionEntry | undefined {
    return this.entries.get(token);
  }

  set(token: string, entry: IntrospectionEntry): void {
    this.entries.set(token, entry);
  }
}
