import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAuthorizer } from '../../../lib/authorizer/authorizer.js';
import { loadConfig } from '../../../lib/authorizer/config.js';
import { AuthError, ConfigError, type ReasonCode } from '../../../lib/errors.js';
import type { JwksEvent } from '../../../lib/jwt/issuer-keys.js';
import { parseRouteTable } from '../../../lib/authorizer/route-table.js';
import { TokenVerifier } from '../../../lib/jwt/token-verifier.js';
import { readFileSync } from 'node:fs';
import { b64url, generateTestKey, jwks, signJwt, userClaims } from '../../helpers/jwt.js';
import { JwksServer } from '../../helpers/jwks-server.js';
import { arnFor } from '../../helpers/policy.js';

const refusedWith = (code: ReasonCode) => (error: unknown) => error instanceof AuthError && error.code === code;
const keyA = generateTestKey('ES256', 'key-a');
const keyB = generateTestKey('ES256', 'key-b');
let server: JwksServer;

before(async () => {
  server = await new JwksServer().start();
});
after(() => server.stop());

/** A verifier with a clock the test moves, and a way to await its next key-cache event. */
function verifierAt(env: Record<string, string> = {}) {
  const clock = { now: Date.now() };
  const config = loadConfig({ AUTH_ISSUER: server.issuer, AUTH_JWKS_URI: server.jwksUri, AUTH_JWKS_TIMEOUT_MS: '200', ...env });
  const waiting: { type: JwksEvent['type']; resolve: () => void }[] = [];
  const onJwksEvent = (event: JwksEvent): void => {
    for (let index = waiting.length - 1; index >= 0; index -= 1) {
      if (waiting[index]!.type === event.type) waiting.splice(index, 1)[0]!.resolve();
    }
  };
  /** Resolves on the next event of this type (the JWKS timeout bounds every fetch). */
  const next = (type: JwksEvent['type']): Promise<void> => new Promise((resolve) => waiting.push({ type, resolve }));
  return { clock, config, next, verifier: new TokenVerifier(config, { now: () => clock.now, onJwksEvent }) };
}

describe('decision cache', () => {
  it('answers the very same token again without crypto or fetch, and nothing else', async () => {
    server.mode = 'ok';
    server.jwks = jwks(keyA);
    const { verifier } = verifierAt();
    const token = signJwt(keyA, userClaims(server.issuer));
    const first = await verifier.verify(token);
    assert.equal(verifier.cacheHits, 0);
    assert.equal(await verifier.verify(token), first);
    assert.equal(verifier.cacheHits, 1);
    // One changed byte in the signature is another token: verified, and refused.
    const tampered = token.slice(0, -2) + (token.endsWith('AA') ? 'AB' : 'AA');
    await assert.rejects(verifier.verify(tampered), refusedWith('signature_invalid'));
    assert.equal(verifier.cacheHits, 1);
  });

  it('a token ending like a remembered one (same cache key) is verified in full, and a forgery refused', async () => {
    server.mode = 'ok';
    server.jwks = jwks(keyA);
    const { verifier } = verifierAt();
    const token = signJwt(keyA, userClaims(server.issuer, { sub: 'usr_a' }));
    const first = await verifier.verify(token);
    // Same signature (so the same last characters), another payload: the key matches, the token does not.
    const [header, , signature] = token.split('.');
    const forged = `${header}.${b64url(userClaims(server.issuer, { sub: 'usr_admin' }))}.${signature}`;
    assert.equal(forged.slice(-32), token.slice(-32));
    await assert.rejects(verifier.verify(forged), refusedWith('signature_invalid'));
    assert.equal(verifier.cacheHits, 0);
    // The genuine token is still remembered, and still its own.
    assert.equal(await verifier.verify(token), first);
    assert.equal(verifier.cacheHits, 1);
    assert.equal(first.claims.subject, 'usr_a');
  });

  it('never serves a token past its exp', async () => {
    server.mode = 'ok';
    server.jwks = jwks(keyA);
    const { verifier, clock } = verifierAt();
    const now = Math.floor(clock.now / 1000);
    const token = signJwt(keyA, userClaims(server.issuer, { iat: now, exp: now + 60 }));
    await verifier.verify(token);
    clock.now += 66_000;
    await assert.rejects(verifier.verify(token), refusedWith('token_expired'));
  });

  it('drops a token once the key that signed it leaves the JWKS', async () => {
    server.mode = 'ok';
    server.jwks = jwks(keyA, keyB);
    const { verifier, clock, next } = verifierAt({ AUTH_JWKS_MAX_AGE_SECONDS: '60' });
    const token = signJwt(keyA, userClaims(server.issuer, { exp: Math.floor(clock.now / 1000) + 3600 }));
    await verifier.verify(token);
    await verifier.verify(token);
    assert.equal(verifier.cacheHits, 1);
    const before = server.jwksRequests;
    server.jwks = jwks(keyB);
    clock.now += 61_000;
    // The hit notices the key set is stale and refreshes it in the background…
    const refreshed = next('jwks_fetched');
    await verifier.verify(token);
    await refreshed;
    assert.equal(server.jwksRequests, before + 1);
    // …after which the token's key is gone and so is the token.
    await assert.rejects(verifier.verify(token), refusedWith('kid_unknown'));
  });

  it('drops a token when the issuer puts new material under its key\'s kid, and keeps it when the refetched key is the same', async () => {
    server.mode = 'ok';
    server.jwks = jwks(keyA, keyB);
    const { verifier, clock, next } = verifierAt({ AUTH_JWKS_MAX_AGE_SECONDS: '60' });
    const token = signJwt(keyA, userClaims(server.issuer, { exp: Math.floor(clock.now / 1000) + 3600 }));
    await verifier.verify(token);
    // A refetch of the same keys keeps the entry: still a hit.
    clock.now += 61_000;
    let refreshed = next('jwks_fetched');
    await verifier.verify(token);
    await refreshed;
    await verifier.verify(token);
    assert.equal(verifier.cacheHits, 2);
    // The same kid, other material (a botched rotation, or a takeover of the JWKS host).
    const impostor = generateTestKey('ES256', keyA.kid);
    server.jwks = jwks(impostor, keyB);
    clock.now += 61_000;
    refreshed = next('jwks_fetched');
    await verifier.verify(token);
    await refreshed;
    // The entry died with the key it was verified under: the token is checked again, and fails.
    await assert.rejects(verifier.verify(token), refusedWith('signature_invalid'));
    assert.equal(verifier.cacheHits, 3);
  });

  it('is off with AUTH_DECISION_CACHE_SIZE=0', async () => {
    server.mode = 'ok';
    server.jwks = jwks(keyA);
    const { verifier } = verifierAt({ AUTH_DECISION_CACHE_SIZE: '0' });
    const token = signJwt(keyA, userClaims(server.issuer));
    await verifier.verify(token);
    await verifier.verify(token);
    assert.equal(verifier.cacheHits, 0);
  });

  it('the authorizer returns the same policy for a cached token, per stage', async () => {
    server.mode = 'ok';
    server.jwks = jwks(keyA);
    const { verifier, config } = verifierAt();
    const routes = parseRouteTable(JSON.parse(readFileSync(new URL('../../../routes.json', import.meta.url), 'utf8')));
    const authorize = createAuthorizer({ config, routes, verifier });
    const authorization = `Bearer ${signJwt(keyA, userClaims(server.issuer, { scope: 'read' }))}`;
    const event = (method: string, path: string, stage?: string) => ({ type: 'TOKEN', authorizationToken: authorization, methodArn: arnFor(method, path, stage) });
    const first = await authorize(event('GET', '/calendar/v1/events'));
    const second = await authorize(event('POST', '/calendar/v1/events'));
    assert.equal(verifier.cacheHits, 1);
    assert.deepEqual(second.result, first.result);
    assert.equal(first.outcome, 'allow');
    assert.equal(second.outcome, 'deny');
    assert.equal(second.reason, 'insufficient_scope');
    const otherStage = await authorize(event('GET', '/calendar/v1/events', 'arn:aws:execute-api:eu-west-1:123456789012:abc123/dev'));
    assert.ok(JSON.stringify(otherStage.result).includes('abc123/dev/GET'));
    assert.ok(!JSON.stringify(otherStage.result).includes('abc123/prod'));
  });
});

describe('JWKS snapshot and key-set age', () => {
  it('a cold start with AUTH_JWKS_SNAPSHOT verifies without any fetch; an unknown kid still fetches', async () => {
    server.mode = 'ok';
    server.jwks = jwks(keyA, keyB);
    const before = server.jwksRequests;
    const { verifier } = verifierAt({ AUTH_JWKS_SNAPSHOT: JSON.stringify(jwks(keyA)) });
    await verifier.verify(signJwt(keyA, userClaims(server.issuer)));
    assert.equal(server.jwksRequests, before);
    await verifier.verify(signJwt(keyB, userClaims(server.issuer)));
    assert.equal(server.jwksRequests, before + 1);
  });

  it('snapshot keys get the same checks as fetched ones', async () => {
    const weak = generateTestKey('RSA1024', 'weak');
    const { verifier } = verifierAt({ AUTH_JWKS_SNAPSHOT: JSON.stringify(jwks(weak)), AUTH_JWKS_COOLDOWN_SECONDS: '30' });
    server.jwks = jwks(weak);
    await assert.rejects(verifier.verify(signJwt(weak, userClaims(server.issuer))), refusedWith('key_unsuitable'));
  });

  it('refuses a malformed snapshot at cold start, naming the variable', () => {
    const issuer = 'https://issuer.example/';
    const naming = (error: unknown) => error instanceof ConfigError && error.variable === 'AUTH_JWKS_SNAPSHOT';
    assert.throws(() => loadConfig({ AUTH_ISSUER: issuer, AUTH_JWKS_SNAPSHOT: '{not json' }), naming);
    assert.throws(() => loadConfig({ AUTH_ISSUER: issuer, AUTH_JWKS_SNAPSHOT: '[]' }), naming);
    assert.throws(() => loadConfig({ AUTH_ISSUER: issuer, AUTH_JWKS_SNAPSHOT: JSON.stringify({ 'https://other.example/': { keys: [] } }) }), naming);
    assert.throws(() => loadConfig({ AUTH_ISSUER: `${issuer},https://b.example/`, AUTH_JWKS_SNAPSHOT: JSON.stringify({ keys: [] }) }), naming);
    const several = loadConfig({ AUTH_ISSUER: `${issuer},https://b.example/`, AUTH_JWKS_SNAPSHOT: JSON.stringify({ [issuer]: { keys: [] } }) });
    assert.deepEqual([...several.jwksSnapshot.keys()], [issuer]);
  });

  it('a stale key set is refreshed in the background while requests go on with the known keys', async () => {
    server.mode = 'ok';
    server.jwks = jwks(keyA);
    const { verifier, clock, next } = verifierAt({ AUTH_JWKS_MAX_AGE_SECONDS: '60', AUTH_DECISION_CACHE_SIZE: '0' });
    await verifier.verify(signJwt(keyA, userClaims(server.issuer)));
    const before = server.jwksRequests;
    server.mode = 'hang';
    clock.now += 61_000;
    // The issuer hangs, yet the request is answered from the known key.
    const failed = next('jwks_fetch_failed');
    await verifier.verify(signJwt(keyA, userClaims(server.issuer, { exp: Math.floor(clock.now / 1000) + 600 })));
    await verifier.verify(signJwt(keyA, userClaims(server.issuer, { exp: Math.floor(clock.now / 1000) + 600 })));
    await failed;
    assert.equal(server.jwksRequests, before + 1, 'one background refresh, not one per request');
    server.mode = 'ok';
  });
});
