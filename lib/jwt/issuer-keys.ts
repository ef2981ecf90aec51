import type { KeyObject } from 'node:crypto';
import { AuthError } from '../errors.js';
import type { Algorithm } from './algorithms.js';
import type { FetchJson } from './fetch-json.js';
import { importJwk, type JwkMembers, jwkRefusal, keyForAlgorithm, type TrustedKey } from './jwk.js';
import { isAllowedDiscoveredKeyUrl } from './key-url.js';

/** How one issuer's key set is fetched and kept. */
export interface JwksOptions {
  /** Minimum time between two fetches of one issuer's JWKS, whatever triggers them. */
  cooldownSeconds: number;
  /** Time allowed for one fetch, from connect to the last byte. */
  timeoutMs: number;
  /** Largest JWKS or discovery document accepted. */
  maxResponseBytes: number;
  /** Age after which a key set is refreshed in the background. */
  maxAgeSeconds: number;
}

export interface JwksEvent {
  type: 'jwks_fetched' | 'jwks_fetch_failed' | 'jwks_key_skipped';
  issuer: string;
  detail: string;
}

export interface IssuerKeysOptions extends JwksOptions {
  issuer: string;
  jwksUri: string | undefined;
  fetchJson: FetchJson;
  now?: () => number;
  /** Told about fetches, failures and keys skipped; never gets key material. */
  onEvent?: (event: JwksEvent) => void;
}

// Without any key, waiting a full cooldown after a failed fetch would refuse every request for
// that long; a short backoff still stops a flood from turning into a flood of fetches.
const NO_KEYS_BACKOFF_MS = 2000;

/**
 * One trusted issuer's keys. Lives at module scope so warm invocations share it.
 *
 * - Concurrent misses share one fetch (single flight), so a cold start fetches once.
 * - An unknown `kid` triggers a refetch at most once per cooldown: a flood of random kids
 *   costs the issuer one request per cooldown, not one per token.
 * - A failed refetch keeps the keys already known (stale-if-error); only unknown kids fail, as
 *   jwks_unavailable until a fetch succeeds again (they may be keys rotated in).
 * - Keys that leave the JWKS are forgotten on the next successful fetch, and a key set older than
 *   `maxAgeSeconds` is refreshed in the background (the request at hand still uses it), so a key
 *   the issuer withdraws stops being trusted even if no unknown kid ever shows up.
 */
export class IssuerKeys {
  readonly issuer: string;
  private readonly options: IssuerKeysOptions;
  private readonly now: () => number;
  private keys = new Map<string, TrustedKey>();
  /**
   * Entries of the key set that passed every check on their members but are not imported yet:
   * importing (createPublicKey, ~0.1-0.5 ms each on a cold start) waits until a token names the
   * kid, so a cold start imports the one key it needs, not the whole set.
   */
  private pending = new Map<string, JwkMembers>();
  /** Kids the JWKS publishes but we refused to import, and why, so the refusal can say so. */
  private unusable = new Map<string, string>();
  private loaded = false;
  /** Whether the latest fetch failed (until one succeeds): unknown kids cannot be ruled out then. */
  private lastFetchFailed = false;
  private inFlight: Promise<void> | undefined;
  /** Whether the fetch in flight is the init-time prefetch (whose failure arms no backoff). */
  private prefetching = false;
  private nextFetchAt = 0;
  /** When the key set in use was fetched (or preloaded). */
  private fetchedAt = 0;
  private jwksUri: string | undefined;
  private generation = 0;

  constructor(options: IssuerKeysOptions) {
    this.options = options;
    this.issuer = options.issuer;
    this.jwksUri = options.jwksUri;
    this.now = options.now ?? Date.now;
  }

  /** Increments whenever the key set changes; caches derived from keys compare it. */
  get keySetGeneration(): number {
    return this.generation;
  }

  /** Whether a key with this kid is currently trusted (importing it if that has not happened yet). */
  has(kid: string): boolean {
    return this.trusted(kid) !== undefined;
  }

  /** The fingerprint of the key now trusted under `kid` (importing it if need be), if any. */
  fingerprintOf(kid: string): string | undefined {
    return this.trusted(kid)?.fingerprint;
  }

  /**
   * Seeds the cache with a JWKS known at deploy time, so a cold start needs no fetch. It counts
   * as fresh: it is refreshed after `maxAgeSeconds` like a fetched set, and an unknown kid still
   * triggers a fetch at once.
   */
  preload(jwks: unknown): void {
    this.install(jwks);
    this.fetchedAt = this.now();
  }

  /**
   * Starts fetching the key set now, at init, so that the first request finds it fetched (or in
   * flight) instead of starting the fetch itself. Does nothing once keys are loaded (a snapshot)
   * or a fetch is in flight. Never throws and never rejects. A failed prefetch is reported like
   * any failed fetch but arms no backoff: the first request that needs a key still fetches at
   * once (and from then on the usual cooldown and backoff apply), so a prefetch cut short (a
   * frozen init, a blip) costs at most one extra fetch per container. That request still waits at
   * most one fetch deadline in all (withinDeadline).
   */
  prefetch(): void {
    if (this.loaded || this.inFlight !== undefined) return;
    this.prefetching = true;
    const flight = this.fetchKeys(true).finally(() => {
      this.inFlight = undefined;
      this.prefetching = false;
    });
    this.inFlight = flight;
    // fetchKeys catches fetch errors; only an onEvent listener that throws could reject this.
    // Whoever awaits the flight sees that; nobody awaiting it must not mean an unhandled rejection.
    flight.catch(() => undefined);
  }

  /**
   * Stale-while-revalidate: a key set older than maxAgeSeconds is refreshed in the background
   * (single flight, within the cooldown) while the request at hand goes on with it.
   */
  refreshIfStale(): void {
    // Nobody awaits this one: a throwing event listener must not become an unhandled rejection.
    if (this.now() - this.fetchedAt >= this.options.maxAgeSeconds * 1000) this.refresh().catch(() => undefined);
  }

  /**
   * The key for `kid` and `alg` if it is already known, without waiting: the per-request path.
   * Undefined means "not known yet": call getKey, which may fetch.
   */
  knownKey(kid: string, alg: Algorithm): KeyObject | undefined {
    const key = this.trusted(kid);
    if (key === undefined) return undefined;
    this.refreshIfStale();
    return keyForAlgorithm(key, alg);
  }

  /** The key to verify a token with `kid` and `alg`. Throws AuthError when there is none. */
  async getKey(kid: string, alg: Algorithm): Promise<KeyObject> {
    const known = this.knownKey(kid, alg);
    if (known !== undefined) return known;
    const settled = await this.withinDeadline(this.fetchForRequest());
    const key = this.trusted(kid);
    if (key === undefined) {
      const why = this.unusable.get(kid);
      if (why !== undefined) throw new AuthError('key_unsuitable', `key "${kid}" of ${this.issuer} was not imported: ${why}`);
      if (!this.loaded) throw new AuthError('jwks_unavailable', `no keys could be fetched for ${this.issuer}`);
      // The kid may be a key rotated in that we could not fetch: an outage, not a client's mistake.
      if (!settled || this.lastFetchFailed) {
        throw new AuthError('jwks_unavailable', `no key "${kid}" in the ${this.keys.size + this.pending.size} key(s) known for ${this.issuer}, and the JWKS could not be fetched again (${settled ? 'the last fetch failed' : 'no answer within the fetch deadline'})`);
      }
      throw new AuthError('kid_unknown', `no key "${kid}" in the JWKS of ${this.issuer}`);
    }
    return keyForAlgorithm(key, alg);
  }

  private async fetchForRequest(): Promise<void> {
    const joinedPrefetch = this.prefetching;
    await this.refresh();
    // The prefetch failed and armed no backoff: this request fetches for itself, as it would have
    // without a prefetch (single flight and the failure backoff apply as usual).
    if (joinedPrefetch && !this.loaded) await this.refresh();
  }

  /**
   * A request waits for keys at most one fetch deadline, whatever it joined: a hanging prefetch
   * and then its own fetch, or discovery and then the JWKS, would otherwise add up past the
   * function's timeout. What is in flight goes on for later requests; this one is refused now.
   */
  private withinDeadline(work: Promise<void>): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.options.timeoutMs);
    });
    return Promise.race([work.then(() => true), deadline]).finally(() => clearTimeout(timer));
  }

  /**
   * The imported key for `kid` in the current set, importing it on first use. An entry that fails
   * to import is refused from then on, like one refused at install, and reported once.
   */
  private trusted(kid: string): TrustedKey | undefined {
    const known = this.keys.get(kid);
    if (known !== undefined) return known;
    const jwk = this.pending.get(kid);
    if (jwk === undefined) return undefined;
    this.pending.delete(kid);
    const imported = importJwk(jwk);
    if (typeof imported === 'string') {
      this.unusable.set(kid, imported);
      this.emit('jwks_key_skipped', `key "${kid}": ${imported}`);
      return undefined;
    }
    this.keys.set(kid, imported);
    return imported;
  }


  private refresh(): Promise<void> {
    if (this.inFlight !== undefined) return this.inFlight;
    if (this.now() < this.nextFetchAt) return Promise.resolve();
    this.inFlight = this.fetchKeys().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async fetchKeys(prefetch = false): Promise<void> {
    const { fetchJson, timeoutMs, maxResponseBytes: maxBytes } = this.options;
    try {
      const jwksUri = this.jwksUri ?? (await this.discoverJwksUri());
      const jwks = await fetchJson(jwksUri, { timeoutMs, maxBytes });
      this.install(jwks);
      this.jwksUri = jwksUri;
      this.fetchedAt = this.now();
      this.nextFetchAt = this.fetchedAt + this.options.cooldownSeconds * 1000;
      this.lastFetchFailed = false;
      this.emit('jwks_fetched', `${this.pending.size} key(s) from ${jwksUri}`);
    } catch (error) {
      // Stale-if-error: whatever keys we had stay trusted.
      const backoff = this.loaded ? this.options.cooldownSeconds * 1000 : Math.min(NO_KEYS_BACKOFF_MS, this.options.cooldownSeconds * 1000);
      if (!prefetch) this.nextFetchAt = this.now() + backoff;
      this.lastFetchFailed = true;
      this.emit('jwks_fetch_failed', error instanceof Error ? error.message : String(error));
    }
  }

  private async discoverJwksUri(): Promise<string> {
    // OpenID Connect Discovery 1.0 §4: issuer without trailing slash + /.well-known/openid-configuration
    const url = `${this.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const document = await this.options.fetchJson(url, { timeoutMs: this.options.timeoutMs, maxBytes: this.options.maxResponseBytes });
    if (typeof document !== 'object' || document === null) throw new Error(`${url} is not a JSON object`);
    const { issuer, jwks_uri: jwksUri } = document as Record<string, unknown>;
    // §4.3: the document must name the very issuer we asked about.
    if (issuer !== this.issuer) throw new Error(`${url} names issuer "${String(issuer)}", expected "${this.issuer}"`);
    if (typeof jwksUri !== 'string') throw new Error(`${url} has no jwks_uri`);
    let parsed: URL;
    try {
      parsed = new URL(jwksUri);
    } catch {
      throw new Error(`${url} has an invalid jwks_uri`);
    }
    if (!isAllowedDiscoveredKeyUrl(parsed, this.issuer)) throw new Error(`${url} has a jwks_uri that is not https (${parsed.protocol}//${parsed.host}); only a loopback http issuer may name a loopback http one`);
    return jwksUri;
  }

  private install(jwks: unknown): void {
    const list = typeof jwks === 'object' && jwks !== null ? (jwks as Record<string, unknown>)['keys'] : undefined;
    if (!Array.isArray(list)) throw new Error('the JWKS has no "keys" array');
    const candidates = list.filter((jwk): jwk is Record<string, unknown> => typeof jwk === 'object' && jwk !== null && !Array.isArray(jwk));
    const kidCounts = new Map<unknown, number>();
    for (const jwk of candidates) kidCounts.set(jwk['kid'], (kidCounts.get(jwk['kid']) ?? 0) + 1);
    const pending = new Map<string, JwkMembers>();
    const unusable = new Map<string, string>();
    for (const jwk of candidates) {
      const kid = jwk['kid'];
      // Two keys under one kid make the choice ambiguous; trust neither.
      const refusal = (kidCounts.get(kid) ?? 0) > 1 ? 'the JWKS holds more than one key with this kid' : jwkRefusal(jwk);
      if (refusal !== undefined) {
        if (typeof kid === 'string') unusable.set(kid, refusal);
        this.emit('jwks_key_skipped', `key "${typeof kid === 'string' ? kid : '?'}": ${refusal}`);
        continue;
      }
      pending.set(kid as string, jwk);
    }
    // Imported on first use (trusted()); nothing of the previous set survives.
    this.keys = new Map();
    this.pending = pending;
    this.unusable = unusable;
    this.loaded = true;
    this.generation += 1;
  }

  private emit(type: JwksEvent['type'], detail: string): void {
    this.options.onEvent?.({ type, issuer: this.issuer, detail });
  }
}
