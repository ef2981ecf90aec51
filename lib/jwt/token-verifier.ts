import type { KeyObject } from 'node:crypto';
import { AuthError } from '../errors.js';
import { LruCache } from '../shared/lru-cache.js';
import { type Algorithm, isLowS, isSupportedAlgorithm, verifySignature } from './algorithms.js';
import { validateClaims } from './claims.js';
import { type DecodedJwt, decodeJwt, isCompactJws, type JsonObject } from './decode.js';
import { fetchJson as defaultFetchJson, type FetchJson } from './fetch-json.js';
import { IssuerKeys, type JwksEvent, type JwksOptions } from './issuer-keys.js';
import { type IssuerProfile, issuerProfile } from './issuer-profile.js';
import { type Verification, VerifiedTokenCache, type VerifiedToken } from './verified-token-cache.js';

export type { Verification, VerifiedToken } from './verified-token-cache.js';

export interface TrustedIssuer {
  /** The exact `iss` value tokens carry. Compared byte for byte. */
  issuer: string;
  /** Where this issuer's JWKS lives; undefined means "ask the OpenID discovery document". */
  jwksUri: string | undefined;
  /** How this issuer's tokens are read; RFC 9068's when absent. */
  profile?: IssuerProfile | undefined;
  /**
   * Which of its tokens are checked at its introspection endpoint (RFC 7662) instead of by
   * signature: `opaque`, those that are not JWTs (at most one issuer: an opaque token does not say
   * whose it is); `all`, its JWTs as well. Undefined: none.
   */
  introspect?: 'opaque' | 'all' | undefined;
}

/**
 * Asks an issuer whether a token is active (RFC 7662): lib/introspection implements it, the handler
 * wires it in. Answers at once when it remembers the token, with a promise otherwise.
 */
export interface TokenIntrospection {
  check(issuer: string, token: string): Verification | Promise<Verification>;
}

/** One trusted issuer at run time: its keys and its profile. */
interface Issuer {
  keys: IssuerKeys;
  profile: IssuerProfile;
  introspectsAll: boolean;
}

/** What the verifier checks, and how it keeps keys and verified tokens. */
export interface TokenVerifierOptions {
  issuers: readonly TrustedIssuer[];
  algorithms: readonly Algorithm[];
  clockToleranceSeconds: number;
  /** The longest a token may still have to live (its `exp` from now). */
  maxTokenLifetimeSeconds: number;
  maxTokenBytes: number;
  /** Refuse ECDSA signatures whose s is in the upper half of the group order (one spelling per token). */
  requireLowS?: boolean | undefined;
  jwks: JwksOptions;
  /** Verified tokens remembered (VerifiedTokenCache); 0 turns the cache off. */
  decisionCacheSize: number;
  /** JWKS known at deploy time, per issuer, loaded at construction instead of fetched. */
  jwksSnapshot: ReadonlyMap<string, unknown>;
}

/** The verifier's edges: swapped in tests. */
export interface TokenVerifierDependencies {
  fetchJson?: FetchJson;
  /** Milliseconds since the epoch. */
  now?: () => number;
  onJwksEvent?: (event: JwksEvent) => void;
  /** Required when an issuer has `introspect`. */
  introspection?: TokenIntrospection | undefined;
}

/** A token whose header passed and whose issuer is trusted: everything the signature check needs. */
interface Candidate {
  token: string;
  jwt: DecodedJwt;
  kid: string;
  alg: Algorithm;
  issuer: Issuer;
}

// Header parameters that would let the token name its own key (RFC 8725 §3.10): never honoured.
const KEY_BEARING_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const;
const ACCESS_TOKEN_TYPES = new Set(['at+jwt', 'application/at+jwt']);
// Tokens from one issuer share a handful of headers ({alg, typ, kid}); parsing each once saves a
// JSON.parse per request. Bounded: a flood of distinct headers only costs the parse.
const HEADER_CACHE_SIZE = 32;

/**
 * Verifies bearer JWTs for a fixed set of trusted issuers. Checks run from cheapest to most
 * expensive, and nothing from the token is trusted before the signature is: `iss` only chooses
 * which trusted issuer's keys to try, and an untrusted `iss` is refused without any fetch.
 */
export class TokenVerifier {
  private readonly options: TokenVerifierOptions;
  private readonly issuers: Map<string, Issuer>;
  private readonly now: () => number;
  private readonly verifiedTokens: VerifiedTokenCache;
  private readonly headers = new LruCache<string, JsonObject>(HEADER_CACHE_SIZE);
  private readonly introspection: TokenIntrospection | undefined;
  /** The issuer that introspects tokens that are not JWTs, if one does. */
  private readonly opaqueIssuer: string | undefined;
  /** Why a token that is not a JWT cannot be checked, when no issuer introspects them. */
  private readonly opaqueHint: string;

  constructor(options: TokenVerifierOptions, dependencies: TokenVerifierDependencies = {}) {
    this.options = options;
    this.now = dependencies.now ?? Date.now;
    const fetchJson = dependencies.fetchJson ?? defaultFetchJson;
    this.issuers = new Map(options.issuers.map(({ issuer, jwksUri, profile, introspect }) => [issuer, {
      keys: new IssuerKeys({ ...options.jwks, issuer, jwksUri, fetchJson, now: this.now, onEvent: dependencies.onJwksEvent }),
      profile: profile ?? issuerProfile('rfc9068'),
      introspectsAll: introspect === 'all',
    }]));
    // Both choices introspect tokens that are not JWTs, and an opaque token names no issuer: sending
    // it to several would hand one issuer's token to another.
    const opaque = options.issuers.filter(({ introspect }) => introspect !== undefined);
    if (opaque.length > 0 && dependencies.introspection === undefined) throw new Error(`${opaque[0]!.issuer} introspects tokens, but no introspection was given`);
    if (opaque.length > 1) throw new Error(`several issuers introspect opaque tokens (${opaque.map(({ issuer }) => issuer).join(', ')}); an opaque token does not say whose it is`);
    this.introspection = dependencies.introspection;
    this.opaqueIssuer = opaque[0]?.issuer;
    this.opaqueHint = options.issuers.some(({ profile }) => profile?.name === 'auth0')
      ? ' Auth0 issues opaque access tokens only for its own /userinfo endpoint, when the token request names no audience: request the token with audience=<your API identifier> to get a JWT for this API.'
      : ' Configure introspection for its issuer (AUTH_INTROSPECTION=opaque), or have the issuer sign JWT access tokens.';
    for (const [issuer, jwks] of options.jwksSnapshot) this.issuers.get(issuer)?.keys.preload(jwks);
    this.verifiedTokens = new VerifiedTokenCache({
      capacity: options.decisionCacheSize,
      clockToleranceSeconds: options.clockToleranceSeconds,
      now: this.now,
    });
  }

  /** How many verifications the decision cache answered. */
  get cacheHits(): number {
    return this.verifiedTokens.hits;
  }

  /**
   * Starts fetching, now, the JWKS of every trusted issuer that has no keys yet (no snapshot), so
   * a cold start's fetch overlaps the rest of init instead of waiting for the first request.
   * Never throws; see IssuerKeys.prefetch.
   */
  prefetchKeys(): void {
    for (const { keys } of this.issuers.values()) keys.prefetch();
  }

  /** @internal The key set of one trusted issuer, for tests. */
  keysOf(issuer: string): IssuerKeys | undefined {
    return this.issuers.get(issuer)?.keys;
  }

  /** Verifies `token`; rejects with an AuthError when it must be refused. */
  async verify(token: string): Promise<VerifiedToken> {
    return (await this.verifyNow(token)).verified;
  }

  /**
   * The same checks as `verify`, without a promise where none is needed: a remembered token, or a
   * token whose key is already known, is answered (or refused, by a synchronous throw) at once;
   * only a key that must be fetched gives a promise. Says whether the decision cache answered.
   */
  verifyNow(token: string): Verification | Promise<Verification> {
    if (token.length > this.options.maxTokenBytes) throw new AuthError('token_too_large', `token exceeds ${this.options.maxTokenBytes} bytes`);
    // Tokens not shaped as a JWS (opaque values, JWEs) go to the issuer that introspects them,
    // straight away: the decoder's refusal (an exception) would cost more than the cache hit. No
    // dot at all is the common case, and the cheapest test.
    if (this.opaqueIssuer !== undefined && (!token.includes('.') || !isCompactJws(token))) return this.introspection!.check(this.opaqueIssuer, token);
    const remembered = this.verifiedTokens.lookup(token);
    if (remembered !== undefined) return remembered;
    let jwt: DecodedJwt;
    try {
      jwt = decodeJwt(token, this.headers);
    } catch (error) {
      // Shaped as a JWS but broken: a JWT gone wrong (or forged), not an opaque token, and no
      // reason to hand the issuer a call per garbage string.
      if (error instanceof AuthError && error.code === 'token_not_jwt') throw new AuthError('token_not_jwt', `${error.message}.${this.opaqueHint}`);
      throw error;
    }
    // `iss` is not trusted yet: it only says which issuer to ask.
    const named = jwt.payload['iss'];
    const introspected = typeof named === 'string' ? this.issuers.get(named) : undefined;
    if (introspected?.introspectsAll === true) return this.introspection!.check(named as string, token);
    const candidate = this.candidate(token, jwt);
    // Known keys are used without an await; only a miss waits for the JWKS.
    const { keys } = candidate.issuer;
    const known = keys.knownKey(candidate.kid, candidate.alg);
    if (known !== undefined) return this.finish(candidate, known);
    return keys.getKey(candidate.kid, candidate.alg).then((key) => this.finish(candidate, key));
  }

  /** Decodes the token and checks its header and issuer: everything before a key is needed. */
  private candidate(token: string, jwt: DecodedJwt): Candidate {
    const { header, payload } = jwt;
    const { alg, kid, crit, typ } = header;
    if (!isSupportedAlgorithm(alg) || !this.options.algorithms.includes(alg)) {
      throw new AuthError('alg_not_allowed', `alg "${String(alg)}" is not allowed`);
    }
    for (const name of KEY_BEARING_HEADERS) {
      if (name in header) throw new AuthError('header_key_rejected', `header "${name}" would let the token choose its key`);
    }
    // We implement no JWS extension, so any critical one must be refused (RFC 7515 §4.1.11).
    if (crit !== undefined) throw new AuthError('crit_unsupported', 'header "crit" names extensions this verifier does not implement');
    // `iss` is not trusted yet: it only picks whose keys and profile to try.
    const iss = payload['iss'];
    const issuer = typeof iss === 'string' ? this.issuers.get(iss) : undefined;
    if (issuer !== undefined && issuer.profile.requireAccessTokenType && (typeof typ !== 'string' || !ACCESS_TOKEN_TYPES.has(typ.toLowerCase()))) {
      throw new AuthError('typ_invalid', 'header "typ" is not "at+jwt" (RFC 9068)');
    }
    if (typeof kid !== 'string' || kid === '') throw new AuthError('kid_missing', 'header has no "kid"');
    if (issuer === undefined) throw new AuthError('issuer_mismatch', '"iss" is missing or not a trusted issuer');
    return { token, jwt, kid, alg, issuer };
  }

  private finish({ token, jwt, kid, alg, issuer: { keys, profile } }: Candidate, key: KeyObject): Verification {
    if (!verifySignature(alg, key, jwt.signingInput, jwt.signature)) {
      throw new AuthError('signature_invalid', `signature does not verify under key "${kid}"`);
    }
    if (this.options.requireLowS === true && !isLowS(alg, jwt.signature)) {
      throw new AuthError('signature_invalid', 'the ECDSA signature has a high s (its twin n − s verifies too); AUTH_REQUIRE_LOW_S refuses it');
    }
    const claims = validateClaims(jwt.payload, {
      issuer: keys.issuer,
      now: Math.floor(this.now() / 1000),
      clockToleranceSeconds: this.options.clockToleranceSeconds,
      maxLifetimeSeconds: this.options.maxTokenLifetimeSeconds,
      profile,
    });
    const verified = { claims, kid };
    const nbf = jwt.payload['nbf'];
    this.verifiedTokens.remember(token, verified, keys, typeof nbf === 'number' ? nbf : undefined);
    return { verified, cached: false };
  }
}
