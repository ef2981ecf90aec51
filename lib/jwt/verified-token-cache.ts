import { LruCache } from '../shared/lru-cache.js';
import type { IssuerKeys } from './issuer-keys.js';
import type { TokenClaims } from './claims.js';

/** A token whose signature and claims have been checked. */
export interface VerifiedToken {
  claims: TokenClaims;
  /** The signing key's kid; undefined for a token the issuer vouched for by introspection. */
  kid: string | undefined;
}

/** What the verifier answers: the token, and whether this cache answered (no signature check ran). */
export interface Verification {
  readonly verified: VerifiedToken;
  readonly cached: boolean;
}

interface Entry {
  /** The whole token: the cache is keyed by its end, and a hit must be the very same bytes. */
  token: string;
  /** Built once: a hit hands out this very object, so a caller may key its own memo on `verified`. */
  hit: Verification;
  keys: IssuerKeys;
  kid: string;
  /** The signing key's fingerprint: the entry dies with the key, even if its kid is reused. */
  keyFingerprint: string | undefined;
  notBefore: number | undefined;
}

export interface VerifiedTokenCacheOptions {
  /** Tokens remembered (LRU); 0 remembers none. */
  capacity: number;
  clockToleranceSeconds: number;
  /** Milliseconds since the epoch. */
  now: () => number;
}

// 32 base64url characters: 192 bits of the signature, so distinct tokens practically never share a key.
const KEY_CHARS = 32;

/**
 * Tokens already verified in this container (the decision cache). Clients reuse a token for its
 * lifetime, so a warm container mostly sees tokens it has verified before. Keyed by the token's
 * last KEY_CHARS characters (the end of the signature: cheap to hash, where hashing a whole RS256
 * signature costs about as much as the rest of a hit) and checked against the whole token: only
 * the very same bytes hit. Two tokens sharing a key only displace each other.
 *
 * A hit holds only while the token is unexpired, its `nbf` reached, and the key that signed it is
 * still the one its issuer publishes under that kid.
 */
export class VerifiedTokenCache {
  private readonly entries: LruCache<string, Entry>;
  private readonly options: VerifiedTokenCacheOptions;
  /** How many lookups this cache answered; for metrics and tests. */
  hits = 0;

  constructor(options: VerifiedTokenCacheOptions) {
    this.options = options;
    this.entries = new LruCache(options.capacity);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The remembered verification of exactly this token, if it still holds. */
  lookup(token: string): Verification | undefined {
    if (this.entries.capacity <= 0) return undefined;
    const key = token.slice(-KEY_CHARS);
    const entry = this.entries.get(key);
    if (entry === undefined || entry.token !== token) return undefined;
    if (!this.stillValid(entry)) {
      this.entries.delete(key);
      return undefined;
    }
    this.hits += 1;
    return entry.hit;
  }

  /** Remembers a token just verified under `kid` of `keys`. */
  remember(token: string, verified: VerifiedToken & { kid: string }, keys: IssuerKeys, notBefore: number | undefined): void {
    if (this.entries.capacity <= 0) return;
    const hit = Object.freeze({ verified, cached: true });
    const { kid } = verified;
    this.entries.set(token.slice(-KEY_CHARS), { token, hit, keys, kid, keyFingerprint: keys.fingerprintOf(kid), notBefore });
  }

  private stillValid({ hit: { verified }, keys, kid, keyFingerprint, notBefore }: Entry): boolean {
    const now = Math.floor(this.options.now() / 1000);
    const tolerance = this.options.clockToleranceSeconds;
    if (now - tolerance >= verified.claims.expiresAt) return false;
    if (notBefore !== undefined && notBefore > now + tolerance) return false;
    // Tokens served from here never reach getKey, so the key set's age is checked here too.
    keys.refreshIfStale();
    return keyFingerprint !== undefined && keys.fingerprintOf(kid) === keyFingerprint;
  }
}
