import type { KeyObject } from 'node:crypto';
import { type Algorithm, isSupportedAlgorithm, verifySignature } from './algorithms.js';
import { type TokenClaims, validateClaims } from './claims.js';
import type { AuthorizerConfig } from '../authorizer/config.js';
import { AuthError } from '../errors.js';
import { fetchJson as defaultFetchJson, type FetchJson } from './fetch-json.js';
import { IssuerKeys, type JwksEvent } from './issuer-keys.js';
import { decodeJwt, type JsonObject } from './decode.js';
import { LruCache } from '../shared/lru-cache.js';

export interface VerifiedToken {
  claims: TokenClaims;
  kid: string;
}

interface CachedVerification {
  /** The whole token: the cache is keyed by its signature, and a hit must be the very same bytes. */
  token: string;
  verified: VerifiedToken;
  keys: IssuerKeys;
  /** The signing key's fingerprint: the entry dies with the key, even if its kid is reused. */
  keyFingerprint: string | undefined;
  notBefore: number | undefined;
}

export interface TokenVerifierOptions {
  fetchJson?: FetchJson;
  /** Milliseconds since the epoch. */
  now?: () => number;
  onJwksEvent?: (event: JwksEvent) => void;
}

// Header parameters that would let the token name its own key (RFC 8725 §3.10): never honoured.
const KEY_BEARING_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const;
const ACCESS_TOKEN_TYPES = new Set(['at+jwt', 'application/at+jwt']);
// 32 base64url characters: 192 bits of the signature, so distinct tokens practically never share a key.
const CACHE_KEY_CHARS = 32;

/**
 * Verifies bearer JWTs for a fixed set of trusted issuers. Checks run from cheapest to most
 * expensive, and nothing from the token is trusted before the signature is: `iss` only chooses
 * which trusted issuer's keys to try, and an untrusted `iss` is refused without any fetch.
 */
export class TokenVerifier {
  private readonly config: AuthorizerConfig;
  private readonly issuers: Map<string, IssuerKeys>;
  private readonly now: () => number;
  /**
   * Tokens already verified in this container. Clients reuse a token for its lifetime, so a warm
   * container mostly sees tokens it has verified before. Keyed by the token's last
   * CACHE_KEY_CHARS characters (the end of the signature: cheap to hash, where hashing a whole
   * RS256 signature costs about as much as the rest of a hit) and checked against the whole token:
   * only the very same bytes hit. Two tokens sharing a key only displace each other.
   */
  private readonly verified: LruCache<string, CachedVerification>;
  /** How many verifications the decision cache answered; for metrics and tests. */
  cacheHits = 0;

  constructor(config: AuthorizerConfig, options: TokenVerifierOptions = {}) {
    this.config = config;
    this.now = options.now ?? Date.now;
    const fetchJson = options.fetchJson ?? defaultFetchJson;
    this.issuers = new Map(config.issuers.map(({ issuer, jwksUri }) => [issuer, new IssuerKeys({
      ...config.jwks,
      issuer,
      jwksUri,
      fetchJson,
      now: this.now,
      onEvent: options.onJwksEvent,
    })]));
    for (const [issuer, jwks] of config.jwksSnapshot) this.issuers.get(issuer)?.preload(jwks);
    this.verified = new LruCache(config.decisionCacheSize);
  }

  /**
   * Starts fetching, now, the JWKS of every trusted issuer that has no keys yet (no snapshot), so
   * a cold start's fetch overlaps the rest of init instead of waiting for the first request.
   * Never throws; see IssuerKeys.prefetch.
   */
  prefetchKeys(): void {
    for (const keys of this.issuers.values()) keys.prefetch();
  }

  /** The key cache of one trusted issuer. */
  keysOf(issuer: string): IssuerKeys | undefined {
    return this.issuers.get(issuer);
  }

  /** Verifies `token`; rejects with an AuthError when it must be refused. */
  async verify(token: string): Promise<VerifiedToken> {
    return this.verifyNow(token);
  }

  /**
   * The same checks as `verify`, without a promise where none is needed: a remembered token, or a
   * token whose key is already known, is answered (or refused, by a synchronous throw) at once;
   * only a key that must be fetched gives a promise. Saves the authorizer two async hops per request.
   */
  verifyNow(token: string): VerifiedToken | Promise<VerifiedToken> {
    if (token.length > this.config.maxTokenBytes) throw new AuthError('token_too_large', `token exceeds ${this.config.maxTokenBytes} bytes`);
    const cacheKey = this.verified.capacity > 0 ? token.slice(-CACHE_KEY_CHARS) : '';
    const cached = cacheKey === '' ? undefined : this.verified.get(cacheKey);
    if (cached !== undefined && cached.token === token) {
      if (this.stillValid(cached)) {
        this.cacheHits += 1;
        return cached.verified;
      }
      this.verified.delete(cacheKey);
    }
    const { header, payload, signingInput, signature } = decodeJwt(token);

    const { alg, kid, crit, typ } = header;
    if (!isSupportedAlgorithm(alg) || !this.config.algorithms.includes(alg)) {
      throw new AuthError('alg_not_allowed', `alg "${String(alg)}" is not allowed`);
    }
    for (const name of KEY_BEARING_HEADERS) {
      if (name in header) throw new AuthError('header_key_rejected', `header "${name}" would let the token choose its key`);
    }
    // We implement no JWS extension, so any critical one must be refused (RFC 7515 §4.1.11).
    if (crit !== undefined) throw new AuthError('crit_unsupported', 'header "crit" names extensions this verifier does not implement');
    if (this.config.requireAccessTokenType && (typeof typ !== 'string' || !ACCESS_TOKEN_TYPES.has(typ.toLowerCase()))) {
      throw new AuthError('typ_invalid', 'header "typ" is not "at+jwt" (RFC 9068)');
    }
    if (typeof kid !== 'string' || kid === '') throw new AuthError('kid_missing', 'header has no "kid"');

    const iss = payload['iss'];
    const keys = typeof iss === 'string' ? this.issuers.get(iss) : undefined;
    if (keys === undefined) throw new AuthError('issuer_mismatch', '"iss" is missing or not a trusted issuer');

    // Known keys are used without an await; only a miss waits for the JWKS.
    const known = keys.knownKey(kid, alg);
    if (known !== undefined) return this.finish(token, cacheKey, keys, kid, alg, known, signingInput, signature, payload);
    return keys.getKey(kid, alg).then((key) => this.finish(token, cacheKey, keys, kid, alg, key, signingInput, signature, payload));
  }

  private finish(
    token: string, cacheKey: string, keys: IssuerKeys, kid: string, alg: Algorithm, key: KeyObject,
    signingInput: string, signature: Buffer, payload: JsonObject,
  ): VerifiedToken {
    if (!verifySignature(alg, key, signingInput, signature)) {
      throw new AuthError('signature_invalid', `signature does not verify under key "${kid}"`);
    }

    const claims = validateClaims(payload, {
      issuer: keys.issuer,
      now: Math.floor(this.now() / 1000),
      clockToleranceSeconds: this.config.clockToleranceSeconds,
      scopeClaims: this.config.scopeClaims,
    });
    const verified = { claims, kid };
    const notBefore = typeof payload['nbf'] === 'number' ? payload['nbf'] : undefined;
    if (cacheKey !== '') this.verified.set(cacheKey, { token, verified, keys, keyFingerprint: keys.fingerprintOf(kid), notBefore });
    return verified;
  }

  /** A remembered verification holds while the token is unexpired and its key still trusted. */
  private stillValid({ verified, keys, keyFingerprint, notBefore }: CachedVerification): boolean {
    const now = Math.floor(this.now() / 1000);
    const tolerance = this.config.clockToleranceSeconds;
    if (now - tolerance >= verified.claims.expiresAt) return false;
    if (notBefore !== undefined && notBefore > now + tolerance) return false;
    // Tokens served from here never reach getKey, so the key set's age is checked here too.
    keys.refreshIfStale();
    return keyFingerprint !== undefined && keys.fingerprintOf(verified.kid) === keyFingerprint;
  }
}
