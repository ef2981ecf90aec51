import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { type Environment, loadConfig } from '../../../lib/authorizer/config.js';
import { AuthError, type ReasonCode } from '../../../lib/errors.js';
import { type FetchJson, fetchJson } from '../../../lib/jwt/fetch-json.js';
import { IssuerKeys, type JwksEvent } from '../../../lib/jwt/issuer-keys.js';
import { TokenVerifier } from '../../../lib/jwt/token-verifier.js';
import { JwksServer, type JwksServerMode } from '../../helpers/jwks-server.js';
import { generateTestKey, jwks, signJwt, type TestKey, userClaims } from '../../helpers/jwt.js';

// EC and Ed25519 keys only: cheap to generate, and the cache does not care about key types.
const keyA = generateTestKey('ES256', 'key-a');
const keyB = generateTestKey('ES256', 'key-b');
const keyC = generateTestKey('EdDSA', 'key-c');

const T0 = Date.now();
const COOLDOWN_MS = 30_000;
const NO_KEYS_BACKOFF_MS = 2_000;

let server: JwksServer;
let clock: number;
const now = (): number => clock;

beforeEach(async () => {
  clock = T0;
  server = await new JwksServer().start();
  server.jwks = jwks(keyA, keyB);
});

afterEach(async () => {
  await server.stop();
});

function verifier(env: Environment = {}, events?: JwksEvent[]): TokenVerifier {
  const config = loadConfig({ AUTH_ISSUER: server.issuer, AUTH_JWKS_URI: server.jwksUri, AUTH_JWKS_TIMEOUT_MS: '1000', ...env });
  return new TokenVerifier(config, { now, onJwksEvent: events ? (event) => events.push(event) : undefined });
}

/** A valid token at the fake clock; a random jti makes every token distinct. */
function token(key: TestKey, header: Record<string, unknown> = {}): string {
  const iat = Math.floor(clock / 1000);
  return signJwt(key, userClaims(server.issuer, { iat, exp: iat + 3600, jti: randomUUID() }), header);
}

function randomKidToken(): string {
  return token(keyA, { kid: randomUUID() });
}

async function rejectsWith(promise: Promise<unknown>, code: ReasonCode): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AuthError, `expected an AuthError, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
    return true;
  });
}

/** Bounds a wait: fails the test if the promise has not settled within `ms`. Not used to synchronise. */
async function settlesWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

describe('cold start', () => {
  test('50 concurrent verifications of distinct tokens share exactly one JWKS request', async () => {
    const cold = verifier();
    const keys = [keyA, keyB];
    const tokens = Array.from({ length: 50 }, (_, index) => token(keys[index % 2] ?? keyA));
    assert.equal(new Set(tokens).size, 50);
    const results = await settlesWithin(Promise.all(tokens.map((t) => cold.verify(t))), 5000);
    assert.deepEqual(results.map((result) => result.kid), tokens.map((_, index) => (index % 2 === 0 ? keyA.kid : keyB.kid)));
    assert.equal(server.jwksRequests, 1);
    assert.equal(cold.keysOf(server.issuer)?.keySetGeneration, 1);
  });

  test('a warm cache verifies known keys without fetching again', async () => {
    const warm = verifier();
    await warm.verify(token(keyA));
    for (let index = 0; index < 20; index += 1) await warm.verify(token(index % 2 === 0 ? keyA : keyB));
    clock += 10 * COOLDOWN_MS;
    await warm.verify(token(keyB));
    assert.equal(server.jwksRequests, 1);
  });

  test('a preloaded key set needs no fetch at all', async () => {
    const preloaded = verifier();
    preloaded.keysOf(server.issuer)?.preload(jwks(keyA));
    await preloaded.verify(token(keyA));
    assert.equal(server.jwksRequests, 0);
  });
});

describe('prefetch at init', () => {
  /** Waits (bounded, 5 s) until the prefetch has settled: it reports success or failure. */
  async function prefetchSettled(events: JwksEvent[]): Promise<void> {
    const settled = (): boolean => events.some((event) => event.type === 'jwks_fetched' || event.type === 'jwks_fetch_failed');
    for (let tries = 0; tries < 1000 && !settled(); tries += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok(settled(), 'the prefetch did not settle');
    // The flight's own bookkeeping (finally) runs a microtask later.
    await new Promise((resolve) => setImmediate(resolve));
  }

  test('a prefetched key set serves the first call with no fetch of its own', async () => {
    const events: JwksEvent[] = [];
    const cache = verifier({}, events);
    cache.prefetchKeys();
    cache.prefetchKeys(); // a second call while in flight starts nothing
    await prefetchSettled(events);
    assert.equal(server.jwksRequests, 1);
    assert.equal((await cache.verify(token(keyA))).kid, keyA.kid);
    assert.equal((await cache.verify(token(keyB))).kid, keyB.kid);
    assert.equal(server.jwksRequests, 1);
    assert.deepEqual(events.map((event) => event.type), ['jwks_fetched']);
    cache.prefetchKeys(); // keys loaded: nothing to do
    assert.equal(server.jwksRequests, 1);
  });

  test('a first call made while the prefetch is in flight joins it', async () => {
    server.mode = 'slow';
    server.slowMs = 100;
    const cache = verifier();
    cache.prefetchKeys();
    const results = await settlesWithin(Promise.all([cache.verify(token(keyA)), cache.verify(token(keyB))]), 5000);
    assert.deepEqual(results.map((result) => result.kid), [keyA.kid, keyB.kid]);
    assert.equal(server.jwksRequests, 1);
  });

  test('a snapshot leaves nothing to prefetch', async () => {
    const cache = verifier({ AUTH_JWKS_SNAPSHOT: JSON.stringify(jwks(keyA)) });
    cache.prefetchKeys();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await cache.verify(token(keyA));
    assert.equal(server.jwksRequests, 0);
  });

  for (const mode of ['error', 'garbage', 'hang'] as const) {
    test(`a failed prefetch ('${mode}') is reported and arms no backoff: the first call fetches at once`, { timeout: 10_000 }, async () => {
      server.mode = mode;
      const events: JwksEvent[] = [];
      const cache = verifier({ AUTH_JWKS_TIMEOUT_MS: '200' }, events);
      cache.prefetchKeys();
      await prefetchSettled(events);
      assert.equal(server.jwksRequests, 1);
      assert.deepEqual(events.map((event) => event.type), ['jwks_fetch_failed']);
      // No time has passed on the clock, yet the first call fetches: the prefetch armed nothing.
      server.mode = 'ok';
      assert.equal((await settlesWithin(cache.verify(token(keyA)), 5000)).kid, keyA.kid);
      assert.equal(server.jwksRequests, 2);
    });
  }

  test('a first call that joined a failed prefetch fetches once more for itself; if that fails too, the backoff holds', { timeout: 10_000 }, async () => {
    server.mode = 'hang';
    const cache = verifier({ AUTH_JWKS_TIMEOUT_MS: '4000' });
    cache.prefetchKeys();
    for (let tries = 0; tries < 500 && server.jwksRequests === 0; tries += 1) await new Promise((resolve) => setTimeout(resolve, 2));
    assert.equal(server.jwksRequests, 1, 'the prefetch is parked at the server');
    // Joins the prefetch, which then fails (500); then one fetch of its own (500 too): refused.
    const first = settlesWithin(cache.verify(token(keyA)), 5000);
    server.mode = 'error';
    server.releaseParked();
    await rejectsWith(first, 'jwks_unavailable');
    assert.equal(server.jwksRequests, 2);
    // That second failure was an ordinary one: the short backoff holds, then a retry succeeds.
    server.mode = 'ok';
    await rejectsWith(cache.verify(token(keyA)), 'jwks_unavailable');
    assert.equal(server.jwksRequests, 2);
    clock += NO_KEYS_BACKOFF_MS;
    assert.equal((await cache.verify(token(keyA))).kid, keyA.kid);
    assert.equal(server.jwksRequests, 3);
  });

  test('a call that joins a hanging prefetch waits one fetch deadline, not the prefetch\'s and then its own', { timeout: 10_000 }, async () => {
    server.mode = 'hang';
    const cache = verifier({ AUTH_JWKS_TIMEOUT_MS: '1000' });
    cache.prefetchKeys();
    // Without the per-request deadline this settles after ~2000 ms (prefetch timeout, then its own fetch's).
    await rejectsWith(settlesWithin(cache.verify(token(keyA)), 1600), 'jwks_unavailable');
  });

  test('never throws, never leaves an unhandled rejection, even when the event listener throws', { timeout: 10_000 }, async (t) => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    t.after(() => process.off('unhandledRejection', onUnhandled));
    server.mode = 'error';
    const config = loadConfig({ AUTH_ISSUER: server.issuer, AUTH_JWKS_URI: server.jwksUri });
    const throwing = new TokenVerifier(config, { now, onJwksEvent: () => { throw new Error('listener broke'); } });
    assert.doesNotThrow(() => throwing.prefetchKeys());
    // A closed port: the fetch itself fails.
    const gone = await new JwksServer().start();
    const goneUri = gone.jwksUri;
    await gone.stop();
    const closed = new TokenVerifier(loadConfig({ AUTH_ISSUER: server.issuer, AUTH_JWKS_URI: goneUri }), { now });
    assert.doesNotThrow(() => closed.prefetchKeys());
    for (let tries = 0; tries < 500 && server.jwksRequests === 0; tries += 1) await new Promise((resolve) => setTimeout(resolve, 2));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(unhandled, []);
    // The first call after the prefetch whose listener threw still fetches (and is refused as the
    // listener throws again: an internal error, never an allow).
    await assert.rejects(throwing.verify(token(keyA)));
  });
});

describe('unknown kid', () => {
  test('one refetch per cooldown however many random kids arrive', async () => {
    const cache = verifier();
    await cache.verify(token(keyA));
    assert.equal(server.jwksRequests, 1);

    // Inside the cooldown of the first fetch an unknown kid fetches nothing.
    clock += COOLDOWN_MS - 1;
    await rejectsWith(cache.verify(randomKidToken()), 'kid_unknown');
    assert.equal(server.jwksRequests, 1);

    // Once it has elapsed, an unknown kid triggers exactly one refetch.
    clock += 1;
    await rejectsWith(cache.verify(randomKidToken()), 'kid_unknown');
    assert.equal(server.jwksRequests, 2);

    // A flood of 200 random kids, concurrent then sequential, inside the new cooldown: nothing.
    const flood = await Promise.allSettled(Array.from({ length: 200 }, () => cache.verify(randomKidToken())));
    for (const outcome of flood) {
      assert.equal(outcome.status, 'rejected');
      assert.ok(outcome.status === 'rejected' && outcome.reason instanceof AuthError && outcome.reason.code === 'kid_unknown');
    }
    clock += COOLDOWN_MS - 1;
    for (let index = 0; index < 20; index += 1) await rejectsWith(cache.verify(randomKidToken()), 'kid_unknown');
    assert.equal(server.jwksRequests, 2);

    // Past the cooldown, a concurrent flood still costs exactly one more request.
    clock += 1;
    const second = await Promise.allSettled(Array.from({ length: 200 }, () => cache.verify(randomKidToken())));
    assert.ok(second.every((outcome) => outcome.status === 'rejected' && outcome.reason instanceof AuthError && outcome.reason.code === 'kid_unknown'));
    assert.equal(server.jwksRequests, 3);
  });

  test('known keys keep verifying in the middle of a random-kid flood', async () => {
    const cache = verifier();
    await cache.verify(token(keyA));
    clock += COOLDOWN_MS;
    const mixed = await Promise.allSettled(Array.from({ length: 60 }, (_, index) => cache.verify(index % 3 === 0 ? token(keyB) : randomKidToken())));
    mixed.forEach((outcome, index) => {
      if (index % 3 === 0) assert.equal(outcome.status, 'fulfilled');
      else assert.ok(outcome.status === 'rejected' && outcome.reason instanceof AuthError && outcome.reason.code === 'kid_unknown');
    });
    assert.equal(server.jwksRequests, 2);
  });

  test('AUTH_JWKS_COOLDOWN_SECONDS shortens the cooldown', async () => {
    const cache = verifier({ AUTH_JWKS_COOLDOWN_SECONDS: '5' });
    await cache.verify(token(keyA));
    clock += 4_999;
    await rejectsWith(cache.verify(randomKidToken()), 'kid_unknown');
    assert.equal(server.jwksRequests, 1);
    clock += 1;
    await rejectsWith(cache.verify(randomKidToken()), 'kid_unknown');
    assert.equal(server.jwksRequests, 2);
  });
});

describe('rotation', () => {
  test('a key added to the JWKS is refused inside the cooldown, accepted once it has elapsed', async () => {
    const cache = verifier();
    await cache.verify(token(keyA));
    server.jwks = jwks(keyA, keyB, keyC);

    clock += 1_000;
    await rejectsWith(cache.verify(token(keyC)), 'kid_unknown');
    assert.equal(server.jwksRequests, 1);

    clock = T0 + COOLDOWN_MS;
    const { kid } = await cache.verify(token(keyC));
    assert.equal(kid, keyC.kid);
    assert.equal(server.jwksRequests, 2);
    // The old keys survive a rotation that keeps them.
    await cache.verify(token(keyA));
    assert.equal(server.jwksRequests, 2);
  });

  test('a removed key is forgotten at the next refetch, and the generation increments', async () => {
    const cache = verifier();
    const keys = cache.keysOf(server.issuer);
    assert.ok(keys);
    await cache.verify(token(keyB));
    assert.equal(keys.keySetGeneration, 1);
    assert.ok(keys.has(keyB.kid));

    server.jwks = jwks(keyA);
    // Until a refetch happens, the cached key still verifies.
    clock += COOLDOWN_MS;
    await cache.verify(token(keyB));
    assert.equal(server.jwksRequests, 1);

    // An unknown kid triggers the refetch that drops keyB.
    await rejectsWith(cache.verify(randomKidToken()), 'kid_unknown');
    assert.equal(server.jwksRequests, 2);
    assert.equal(keys.keySetGeneration, 2);
    assert.equal(keys.has(keyB.kid), false);
    await rejectsWith(cache.verify(token(keyB)), 'kid_unknown');
    await cache.verify(token(keyA));
    assert.equal(server.jwksRequests, 2);
  });

  test('a key that becomes unsuitable (now pinned to another alg) is refused after the refetch', async () => {
    const cache = verifier();
    await cache.verify(token(keyA));
    server.jwks = { keys: [{ ...keyA.jwk, alg: 'ES384' }] };
    clock += COOLDOWN_MS;
    await rejectsWith(cache.verify(randomKidToken()), 'kid_unknown');
    await rejectsWith(cache.verify(token(keyA)), 'key_unsuitable');
  });
});

const FAILURE_MODES: JwksServerMode[] = ['error', 'garbage', 'oversized', 'hang'];
// A small fetch deadline makes 'hang' settle quickly; a small cap makes 'oversized' fail early.
const FAILURE_ENV: Environment = { AUTH_JWKS_TIMEOUT_MS: '200', AUTH_JWKS_MAX_BYTES: '16384' };

describe('outages', () => {
  for (const mode of FAILURE_MODES) {
    describe(`JWKS server in '${mode}' mode`, () => {
      test('with keys known: known kids still verify (stale-if-error), unknown kids fail closed as jwks_unavailable', { timeout: 10_000 }, async () => {
        const events: JwksEvent[] = [];
        const cache = verifier(FAILURE_ENV, events);
        await cache.verify(token(keyA));
        server.mode = mode;
        clock += COOLDOWN_MS;

        await rejectsWith(settlesWithin(cache.verify(randomKidToken()), 5000), 'jwks_unavailable');
        assert.equal(server.jwksRequests, 2);
        assert.ok(events.some((event) => event.type === 'jwks_fetch_failed'));
        assert.equal(cache.keysOf(server.issuer)?.keySetGeneration, 1);

        const { kid } = await settlesWithin(cache.verify(token(keyA)), 5000);
        assert.equal(kid, keyA.kid);
        assert.equal((await cache.verify(token(keyB))).kid, keyB.kid);

        // The failed refetch starts a full cooldown: no retry storm against a broken issuer.
        clock += COOLDOWN_MS - 1;
        await rejectsWith(cache.verify(randomKidToken()), 'jwks_unavailable');
        assert.equal(server.jwksRequests, 2);
      });

      test('with no keys ever loaded: jwks_unavailable, and the call settles', { timeout: 10_000 }, async () => {
        server.mode = mode;
        const cache = verifier(FAILURE_ENV);
        await rejectsWith(settlesWithin(cache.verify(token(keyA)), 5000), 'jwks_unavailable');
        assert.equal(server.jwksRequests, 1);
        assert.equal(cache.keysOf(server.issuer)?.keySetGeneration, 0);
      });
    });
  }

  test('a hanging refetch does not hold up tokens whose key is already known', { timeout: 10_000 }, async () => {
    // A longer deadline than the other hang tests, so the known-key check clearly happens while the fetch is parked.
    const cache = verifier({ AUTH_JWKS_TIMEOUT_MS: '1000' });
    await cache.verify(token(keyA));
    server.mode = 'hang';
    clock += COOLDOWN_MS;

    let refetchSettled = false;
    const pending = cache.verify(randomKidToken()).finally(() => {
      refetchSettled = true;
    });
    const { kid } = await settlesWithin(cache.verify(token(keyB)), 5000);
    assert.equal(kid, keyB.kid);
    assert.equal(refetchSettled, false, 'the known key must not wait for the refetch');
    // Unknown kids arriving meanwhile join the parked fetch instead of opening another.
    const joined = cache.verify(randomKidToken());
    await rejectsWith(settlesWithin(pending, 5000), 'jwks_unavailable');
    await rejectsWith(settlesWithin(joined, 5000), 'jwks_unavailable');
    assert.equal(server.jwksRequests, 2);
  });

  test('after an initial failure, the retry waits for the short backoff and then succeeds', async () => {
    server.mode = 'error';
    const cache = verifier();
    await rejectsWith(cache.verify(token(keyA)), 'jwks_unavailable');
    assert.equal(server.jwksRequests, 1);

    server.mode = 'ok';
    clock += NO_KEYS_BACKOFF_MS - 1;
    await rejectsWith(cache.verify(token(keyA)), 'jwks_unavailable');
    assert.equal(server.jwksRequests, 1);

    clock += 1;
    assert.equal((await cache.verify(token(keyA))).kid, keyA.kid);
    assert.equal(server.jwksRequests, 2);
    // Now the keys are loaded, the normal cooldown applies again.
    clock += NO_KEYS_BACKOFF_MS;
    await rejectsWith(cache.verify(randomKidToken()), 'kid_unknown');
    assert.equal(server.jwksRequests, 2);
  });

  test('the short backoff also follows a timed-out first fetch', { timeout: 10_000 }, async () => {
    server.mode = 'hang';
    const cache = verifier(FAILURE_ENV);
    await rejectsWith(settlesWithin(cache.verify(token(keyA)), 5000), 'jwks_unavailable');
    server.mode = 'ok';
    await rejectsWith(cache.verify(token(keyA)), 'jwks_unavailable');
    assert.equal(server.jwksRequests, 1);
    clock += NO_KEYS_BACKOFF_MS;
    assert.equal((await cache.verify(token(keyA))).kid, keyA.kid);
    assert.equal(server.jwksRequests, 2);
  });

  test('JWKS server down entirely (closed port) → jwks_unavailable, bounded', { timeout: 10_000 }, async () => {
    const gone = await new JwksServer().start();
    const goneUri = gone.jwksUri;
    const goneIssuer = gone.issuer;
    await gone.stop();
    const config = loadConfig({ AUTH_ISSUER: goneIssuer, AUTH_JWKS_URI: goneUri, AUTH_JWKS_TIMEOUT_MS: '500' });
    const cache = new TokenVerifier(config, { now });
    const iat = Math.floor(clock / 1000);
    const dead = signJwt(keyA, userClaims(goneIssuer, { iat, exp: iat + 60 }));
    await rejectsWith(settlesWithin(cache.verify(dead), 5000), 'jwks_unavailable');
    clock += NO_KEYS_BACKOFF_MS;
    await rejectsWith(settlesWithin(cache.verify(dead), 5000), 'jwks_unavailable');
  });

  test('JWKS server stopped after keys were loaded: known keys keep verifying', { timeout: 10_000 }, async (t) => {
    const own = await new JwksServer().start();
    t.after(() => own.stop()); // stopping twice is harmless
    own.jwks = jwks(keyA, keyB);
    const cache = new TokenVerifier(loadConfig({ AUTH_ISSUER: own.issuer, AUTH_JWKS_URI: own.jwksUri, AUTH_JWKS_TIMEOUT_MS: '500' }), { now });
    const iat = Math.floor(clock / 1000);
    const ownToken = (key: TestKey, kid = key.kid): string => signJwt(key, userClaims(own.issuer, { iat, exp: iat + 60 }), { kid });
    await cache.verify(ownToken(keyA));
    await own.stop();
    clock += COOLDOWN_MS;
    await rejectsWith(settlesWithin(cache.verify(ownToken(keyA, randomUUID())), 5000), 'jwks_unavailable');
    assert.equal((await cache.verify(ownToken(keyB))).kid, keyB.kid);
    assert.equal(own.jwksRequests, 1);
  });
});

describe('IssuerKeys directly', () => {
  function issuerKeys(overrides: Partial<{ cooldownSeconds: number; timeoutMs: number; maxResponseBytes: number; maxAgeSeconds: number }> = {}): IssuerKeys {
    return new IssuerKeys({
      cooldownSeconds: 30,
      maxAgeSeconds: 600,
      timeoutMs: 1000,
      maxResponseBytes: 65536,
      ...overrides,
      issuer: server.issuer,
      jwksUri: server.jwksUri,
      fetchJson,
      now,
    });
  }

  test('concurrent getKey calls for unknown kids share one fetch, then all resolve', async () => {
    const keys = issuerKeys();
    const found = await Promise.all([keys.getKey(keyA.kid, 'ES256'), keys.getKey(keyB.kid, 'ES256'), keys.getKey(keyA.kid, 'ES256')]);
    assert.equal(found.length, 3);
    assert.equal(found[0], found[2], 'the imported KeyObject is reused');
    assert.equal(server.jwksRequests, 1);
  });

  test('an unknown kid after the cooldown refetches; the cooldown starts at the fetch', async () => {
    const keys = issuerKeys();
    await keys.getKey(keyA.kid, 'ES256');
    assert.equal(keys.has(keyC.kid), false);
    server.jwks = jwks(keyA, keyC);
    clock += COOLDOWN_MS;
    await keys.getKey(keyC.kid, 'EdDSA');
    assert.equal(keys.has(keyC.kid), true);
    assert.equal(keys.has(keyB.kid), false);
    assert.equal(server.jwksRequests, 2);
    assert.equal(keys.keySetGeneration, 2);
  });

  test('keys are imported when a token first names them: a weak key is refused then, once, and spoils nothing else', async () => {
    const weak = generateTestKey('RSA1024', 'key-weak');
    const broken = { kty: 'EC', crv: 'P-256', kid: 'key-broken', x: 'AAAA', y: 'AAAA' };
    server.jwks = { keys: [keyA.jwk, weak.jwk, broken, { kty: 'oct', kid: 'key-oct', k: 'c2VjcmV0' }] };
    const events: JwksEvent[] = [];
    const keys = new IssuerKeys({
      cooldownSeconds: 30, maxAgeSeconds: 600, timeoutMs: 1000, maxResponseBytes: 65536,
      issuer: server.issuer, jwksUri: server.jwksUri, fetchJson, now, onEvent: (event) => events.push(event),
    });
    await keys.getKey(keyA.kid, 'ES256');
    // Member checks run at fetch time: only the symmetric key is reported now.
    assert.deepEqual(events.map((event) => `${event.type}: ${event.detail}`), [
      'jwks_key_skipped: key "key-oct": its kty "oct" is not a public-key type',
      `jwks_fetched: 3 key(s) from ${server.jwksUri}`,
    ]);
    events.length = 0;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await rejectsWith(keys.getKey(weak.kid, 'RS256'), 'key_unsuitable');
      await rejectsWith(keys.getKey('key-broken', 'ES256'), 'key_unsuitable');
      assert.equal(keys.knownKey(weak.kid, 'RS256'), undefined);
      assert.equal(keys.has('key-broken'), false);
    }
    assert.deepEqual(events.map((event) => `${event.type}: ${event.detail}`), [
      'jwks_key_skipped: key "key-weak": its RSA modulus is under 2048 bits',
      'jwks_key_skipped: key "key-broken": it is not a valid public JWK',
    ], 'each refused once, when first named');
    assert.ok(keys.has(keyA.kid));
    assert.equal(server.jwksRequests, 1, 'a refused import is not an unknown kid: no refetch');
  });

  test('a refetched set is imported afresh: the same kid with new material gets the new key', async () => {
    const keys = issuerKeys();
    const first = await keys.getKey(keyA.kid, 'ES256');
    const replacement = generateTestKey('ES256', keyA.kid);
    server.jwks = jwks(replacement, keyC);
    clock += COOLDOWN_MS;
    await keys.getKey(keyC.kid, 'EdDSA');
    const second = keys.knownKey(keyA.kid, 'ES256');
    assert.ok(second !== undefined && second !== first);
    assert.ok(second.equals(replacement.publicKey));
  });

  test('oversized JWKS is refused within the byte cap: no keys, jwks_unavailable', { timeout: 10_000 }, async () => {
    server.mode = 'oversized';
    const keys = issuerKeys({ maxResponseBytes: 1024 });
    await rejectsWith(settlesWithin(keys.getKey(keyA.kid, 'ES256'), 5000), 'jwks_unavailable');
    assert.equal(keys.keySetGeneration, 0);
  });
});

describe('discovery', () => {
  function discovering(env: Environment = {}): TokenVerifier {
    return new TokenVerifier(loadConfig({ AUTH_ISSUER: server.issuer, AUTH_JWKS_TIMEOUT_MS: '1000', ...env }), { now });
  }

  test('a discovery document naming another issuer is refused: its jwks_uri is never fetched', async () => {
    const cache = discovering();
    const configured = server.issuer;
    const tokenForConfigured = token(keyA);
    server.issuer = 'https://someone-else.example/'; // the document now names a different issuer
    try {
      await rejectsWith(cache.verify(tokenForConfigured), 'jwks_unavailable');
    } finally {
      server.issuer = configured;
    }
    assert.equal(server.discoveryRequests, 1);
    assert.equal(server.jwksRequests, 0);
  });

  test('JWKS outage after discovery: jwks_unavailable, then recovery after the short backoff', { timeout: 10_000 }, async () => {
    server.mode = 'error';
    const cache = discovering();
    await rejectsWith(cache.verify(token(keyA)), 'jwks_unavailable');
    assert.equal(server.jwksRequests, 1);
    server.mode = 'ok';
    clock += NO_KEYS_BACKOFF_MS;
    assert.equal((await cache.verify(token(keyA))).kid, keyA.kid);
    assert.equal(server.jwksRequests, 2);
  });

  test('an https issuer whose discovery names a loopback http jwks_uri (the Lambda Runtime API) is refused, never fetched', async () => {
    const issuer = 'https://issuer.example/';
    const asked: string[] = [];
    const events: JwksEvent[] = [];
    const fetchStub: FetchJson = async (url) => {
      asked.push(url);
      if (url === `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`) {
        return { issuer, jwks_uri: 'http://127.0.0.1:9001/2018-06-01/runtime/invocation/next' };
      }
      return jwks(keyA);
    };
    const keys = new IssuerKeys({ cooldownSeconds: 30, maxAgeSeconds: 600, timeoutMs: 1000, maxResponseBytes: 65536, issuer, jwksUri: undefined, fetchJson: fetchStub, now, onEvent: (event) => events.push(event) });
    await rejectsWith(keys.getKey(keyA.kid, 'ES256'), 'jwks_unavailable');
    assert.deepEqual(asked, ['https://issuer.example/.well-known/openid-configuration'], 'only discovery was fetched');
    assert.match(events.find((event) => event.type === 'jwks_fetch_failed')?.detail ?? '', /not https \(http:\/\/127\.0\.0\.1:9001\)/);
  });

  test('a loopback http issuer (the local stack) may discover a loopback http jwks_uri', async () => {
    const cache = discovering();
    assert.equal((await cache.verify(token(keyA))).kid, keyA.kid);
    assert.equal(server.discoveryRequests, 1);
    assert.equal(server.jwksRequests, 1);
  });
});

