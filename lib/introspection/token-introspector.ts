/**
 * Opaque tokens (and, where configured, every token of an issuer) checked at the issuer's RFC 7662
 * introspection endpoint, with the answers kept in an IntrospectionCache. The I/O edge of this room:
 * the HTTP call, discovery and the client secret; what an answer means is introspection-response.ts.
 */
import type { Agent } from 'node:http';
import { AuthError } from '../errors.js';
import { FetchError, requestJson as defaultRequestJson, type RequestJson } from '../jwt/fetch-json.js';
import type { IssuerProfile } from '../jwt/issuer-profile.js';
import { isAllowedDiscoveredKeyUrl } from '../jwt/key-url.js';
import type { Verification } from '../jwt/verified-token-cache.js';
import { type ClientSecretSource, describeSecretSource, loadClientSecret as defaultLoadClientSecret, type LoadClientSecret } from './client-secret.js';
import { IntrospectionCache, type IntrospectionEntry } from './introspection-cache.js';
import { claimsFromIntrospection, introspectionProfile } from './introspection-response.js';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

/** One issuer's introspection, as configured. */
export interface IntrospectionClient {
  issuer: string;
  /** The issuer's introspection endpoint; undefined means "ask its OpenID discovery document". */
  endpoint: string | undefined;
  clientId: string;
  clientSecret: ClientSecretSource;
  authMethod: ClientAuthMethod;
  profile: IssuerProfile;
}

export interface IntrospectionOptions {
  /** Deadline of one call (discovery, secret, introspection), from connect to the last byte. */
  timeoutMs: number;
  maxResponseBytes: number;
  /** Answers remembered (LRU). */
  cacheSize: number;
  /** The longest an active answer stands without asking again (never past the token's `exp`). */
  activeCacheSeconds: number;
  /** How long an inactive answer (or another definitive refusal) stands. */
  inactiveCacheSeconds: number;
  /** How long past its freshness an active answer may serve while the issuer cannot be reached. */
  staleIfErrorSeconds: number;
  clockToleranceSeconds: number;
  maxTokenLifetimeSeconds: number;
}

export interface IntrospectionEvent {
  type: 'introspection_failed' | 'introspection_endpoint_discovered' | 'introspection_secret_loaded';
  issuer: string;
  /** Never the token, never the secret. */
  detail: string;
}

export interface IntrospectionDependencies {
  requestJson?: RequestJson;
  loadClientSecret?: LoadClientSecret;
  /** Milliseconds since the epoch. */
  now?: () => number;
  onEvent?: (event: IntrospectionEvent) => void;
}

// After a failed call, new tokens are refused at once for this long instead of each waiting out a
// deadline: an outage costs the issuer one call per backoff, not one per request. As the JWKS's.
const FAILURE_BACKOFF_MS = 2000;

/** Why asking failed: never a verdict on the token, so it is not cached and the caller may retry. */
function unavailable(error: unknown): AuthError {
  if (error instanceof AuthError && error.code === 'introspection_unavailable') return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new AuthError('introspection_unavailable', `introspection failed: ${detail}`, { cause: error });
}

/** A refusal that is the issuer's verdict on the token, not a failure to ask. */
function isVerdict(error: unknown): error is AuthError {
  return error instanceof AuthError && error.code !== 'introspection_unavailable' && error.code !== 'internal_error';
}

/** One issuer at run time: where to ask, as whom, and whether asking just failed. */
class IssuerIntrospection {
  readonly client: IntrospectionClient;
  readonly profile: IssuerProfile;
  endpoint: Promise<string> | undefined;
  secret: Promise<string> | undefined;
  /** No call before this (milliseconds since the epoch): the last one failed. */
  retryAt = 0;
  lastFailure = '';
  readonly flights = new Map<string, Promise<Verification>>();

  constructor(client: IntrospectionClient) {
    this.client = client;
    this.profile = introspectionProfile(client.profile);
  }
}

export class TokenIntrospector {
  private readonly options: IntrospectionOptions;
  private readonly issuers: Map<string, IssuerIntrospection>;
  private readonly cache: IntrospectionCache;
  private readonly requestJson: RequestJson;
  private readonly loadSecret: LoadClientSecret;
  private readonly now: () => number;
  private readonly onEvent: ((event: IntrospectionEvent) => void) | undefined;
  private agents: Map<string, Agent> | undefined;

  constructor(clients: readonly IntrospectionClient[], options: IntrospectionOptions, dependencies: IntrospectionDependencies = {}) {
    this.options = options;
    this.issuers = new Map(clients.map((client) => [client.issuer, new IssuerIntrospection(client)]));
    this.cache = new IntrospectionCache(options.cacheSize);
    this.requestJson = dependencies.requestJson ?? defaultRequestJson;
    this.loadSecret = dependencies.loadClientSecret ?? defaultLoadClientSecret;
    // Read at each call, not captured: a clock swapped later (fake timers) is the one used.
    this.now = dependencies.now ?? (() => Date.now());
    this.onEvent = dependencies.onEvent;
  }

  /** How many answers the cache holds; for tests (it is bounded). */
  get cacheSize(): number {
    return this.cache.size;
  }

  /**
   * Starts reading each issuer's client secret (and discovering its endpoint) now, at cold start,
   * so the first opaque token does not wait for them. Never throws: a failure is retried by the
   * first request that needs it.
   */
  prefetch(): void {
    for (const state of this.issuers.values()) {
      this.secretOf(state).catch(() => undefined);
      this.endpointOf(state).catch(() => undefined);
    }
  }

  /**
   * The verification of `token` by `issuer`'s introspection endpoint: at once from the cache, or
   * a promise of one. Throws (or rejects with) an AuthError: token_inactive, a claim rule's code,
   * or introspection_unavailable when the issuer could not be asked.
   */
  check(issuer: string, token: string): Verification | Promise<Verification> {
    const state = this.issuers.get(issuer);
    if (state === undefined) throw new AuthError('internal_error', `no introspection is configured for ${issuer}`);
    const entry = this.cache.get(token);
    const now = this.now();
    if (entry !== undefined && now < entry.freshUntil) {
      if ('refusal' in entry) throw entry.refusal;
      return entry.hit;
    }
    const flight = state.flights.get(token);
    if (flight !== undefined) return flight;
    if (now < state.retryAt) return this.fallback(entry, now, new AuthError('introspection_unavailable', `introspection is backing off after a failure: ${state.lastFailure}`));
    const asked = this.ask(state, token)
      .then((response) => this.answer(state, token, response))
      .catch((error: unknown) => this.failed(state, token, error))
      .finally(() => state.flights.delete(token));
    state.flights.set(token, asked);
    return asked;
  }

  /** An answer read through the claim rules, remembered either way (it is the issuer's verdict). */
  private answer(state: IssuerIntrospection, token: string, response: unknown): Verification {
    const now = this.now();
    const { clockToleranceSeconds, maxTokenLifetimeSeconds, activeCacheSeconds, inactiveCacheSeconds, staleIfErrorSeconds } = this.options;
    let claims;
    try {
      claims = claimsFromIntrospection(response, token, {
        issuer: state.client.issuer, now: Math.floor(now / 1000), clockToleranceSeconds, maxLifetimeSeconds: maxTokenLifetimeSeconds, profile: state.profile,
      });
    } catch (error) {
      if (isVerdict(error)) this.cache.set(token, { refusal: error, freshUntil: now + inactiveCacheSeconds * 1000 });
      throw error;
    }
    state.retryAt = 0;
    const verified = { claims, kid: undefined };
    const expiresAt = claims.expiresAt * 1000;
    const freshUntil = Math.min(now + activeCacheSeconds * 1000, expiresAt);
    this.cache.set(token, {
      hit: Object.freeze({ verified, cached: true }),
      freshUntil,
      staleUntil: Math.min(freshUntil + staleIfErrorSeconds * 1000, expiresAt + clockToleranceSeconds * 1000),
    });
    return { verified, cached: false };
  }

  private failed(state: IssuerIntrospection, token: string, error: unknown): Verification {
    if (isVerdict(error)) throw error;
    const failure = this.recordFailure(state, unavailable(error));
    return this.fallback(this.cache.get(token), this.now(), failure);
  }

  private recordFailure(state: IssuerIntrospection, error: AuthError): AuthError {
    state.retryAt = this.now() + FAILURE_BACKOFF_MS;
    state.lastFailure = error.message;
    this.onEvent?.({ type: 'introspection_failed', issuer: state.client.issuer, detail: error.message });
    return error;
  }

  /** Stale-if-error: a remembered active answer stands in while it may; otherwise the failure. */
  private fallback(entry: IntrospectionEntry | undefined, now: number, failure: AuthError): Verification {
    if (entry !== undefined && 'hit' in entry && now < entry.staleUntil) return entry.hit;
    throw failure;
  }

  private async ask(state: IssuerIntrospection, token: string): Promise<unknown> {
    const [endpoint, secret] = await Promise.all([this.endpointOf(state), this.secretOf(state)]);
    const { clientId, authMethod } = state.client;
    const form = new URLSearchParams({ token, token_type_hint: 'access_token' });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (authMethod === 'client_secret_post') {
      form.set('client_id', clientId);
      form.set('client_secret', secret);
    } else {
      // RFC 6749 §2.3.1: each part form-urlencoded before the Basic encoding.
      headers['authorization'] = `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(secret)}`).toString('base64')}`;
    }
    try {
      return await this.requestJson(endpoint, {
        method: 'POST', headers, body: form.toString(), timeoutMs: this.options.timeoutMs, maxBytes: this.options.maxResponseBytes, agent: this.agentFor(endpoint),
      });
    } catch (error) {
      if (error instanceof FetchError && (error.status === 401 || error.status === 403)) {
        throw new AuthError('introspection_unavailable', `${endpoint} refused the authorizer's client "${clientId}" (HTTP ${error.status}): check its id and secret (${describeSecretSource(state.client.clientSecret)}) and that it may introspect`);
      }
      // Any other 4xx but 408 and 429 answers this one request (a token the endpoint will not take):
      // a refusal of the token, so that one odd token cannot start the backoff for every other.
      if (error instanceof FetchError && error.status !== undefined && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429) {
        throw new AuthError('token_inactive', `${endpoint} refused to introspect the token (HTTP ${error.status})`);
      }
      throw error;
    }
  }

  /** The endpoint, discovered once; a failed discovery is forgotten, so the next call tries again. */
  private endpointOf(state: IssuerIntrospection): Promise<string> {
    if (state.client.endpoint !== undefined) return Promise.resolve(state.client.endpoint);
    state.endpoint ??= this.discover(state.client.issuer).then((endpoint) => {
      this.onEvent?.({ type: 'introspection_endpoint_discovered', issuer: state.client.issuer, detail: endpoint });
      return endpoint;
    }, (error: unknown) => {
      state.endpoint = undefined;
      throw error;
    });
    return state.endpoint;
  }

  private secretOf(state: IssuerIntrospection): Promise<string> {
    const { clientSecret, issuer } = state.client;
    state.secret ??= withDeadline(this.loadSecret(clientSecret, this.options.timeoutMs), SECRET_DEADLINE_FACTOR * this.options.timeoutMs + SDK_LOAD_ALLOWANCE_MS).then((secret) => {
      if (clientSecret.kind !== 'value') this.onEvent?.({ type: 'introspection_secret_loaded', issuer, detail: `client secret read from ${describeSecretSource(clientSecret)}` });
      return secret;
    }, (error: unknown) => {
      state.secret = undefined;
      throw new AuthError('introspection_unavailable', `the client secret could not be read from ${describeSecretSource(clientSecret)}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    });
    return state.secret;
  }

  private async discover(issuer: string): Promise<string> {
    // OpenID Connect Discovery 1.0 §4, as for the JWKS.
    const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const document = await this.requestJson(url, { method: 'GET', headers: { accept: 'application/json' }, timeoutMs: this.options.timeoutMs, maxBytes: this.options.maxResponseBytes });
    if (typeof document !== 'object' || document === null) throw new Error(`${url} is not a JSON object`);
    const { issuer: named, introspection_endpoint: endpoint } = document as Record<string, unknown>;
    if (named !== issuer) throw new Error(`${url} names the issuer ${JSON.stringify(named)}, not ${issuer}`);
    if (typeof endpoint !== 'string') throw new Error(`${url} has no "introspection_endpoint": configure it (AUTH_INTROSPECTION_ENDPOINT or "introspection.endpoint")`);
    let parsed: URL;
    try {
      parsed = new URL(endpoint);
    } catch {
      throw new Error(`${url} has an introspection_endpoint that is not a URL`);
    }
    // The token and our client secret go there: the same rule as a discovered JWKS URL.
    if (!isAllowedDiscoveredKeyUrl(parsed, issuer)) throw new Error(`${url} has an introspection_endpoint that is not https (${parsed.protocol}//${parsed.host})`);
    return endpoint;
  }

  /**
   * Kept-alive connections: a warm container asks about every new token, and a TLS handshake per
   * call would cost more than the call. A socket found dead after a freeze is retried (requestJson).
   */
  private agentFor(endpoint: string): Agent {
    const protocol = endpoint.startsWith('https:') ? 'https:' : 'http:';
    this.agents ??= new Map();
    let agent = this.agents.get(protocol);
    if (agent === undefined) {
      const module = protocol === 'https:' ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
      agent = new module.Agent({ keepAlive: true, maxSockets: 4 });
      this.agents.set(protocol, agent);
    }
    return agent;
  }
}

// A loader that never settles must not leave requests waiting: the SDK's own deadline covers the
// call, and this one also the SDK's import and set-up on a cold start. With the call after it, a
// cold start's first opaque token waits at most timeout + 1 s + timeout: 4 s at the defaults,
// under the authorizer's 5 s (the secret's load starts at init, so usually much less).
const SECRET_DEADLINE_FACTOR = 1;
const SDK_LOAD_ALLOWANCE_MS = 1000;

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** application/x-www-form-urlencoded, as RFC 6749 Appendix B has it (space as +). */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
