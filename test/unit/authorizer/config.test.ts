import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../lib/authorizer/config.js';
import { ConfigError } from '../../../lib/errors.js';

const ISSUER = 'https://issuer.example.com/';
const naming = (variable: string, text: RegExp) => (error: unknown) =>
  error instanceof ConfigError && error.variable === variable && error.message.startsWith(`${variable}:`) && text.test(error.message);

describe('loadConfig', () => {
  it('has safe defaults', () => {
    const config = loadConfig({ AUTH_ISSUER: ISSUER });
    assert.deepEqual(config.issuers.map(({ issuer, jwksUri, profile }) => ({ issuer, jwksUri, profile: profile.name })), [{ issuer: ISSUER, jwksUri: undefined, profile: 'rfc9068' }]);
    assert.deepEqual(config.algorithms, ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']);
    assert.equal(config.clockToleranceSeconds, 5);
    assert.deepEqual(config.issuers[0]!.profile.scopeClaims, ['scope']);
    assert.equal(config.issuers[0]!.profile.requireAccessTokenType, false);
    assert.equal(config.maxTokenBytes, 8192);
    assert.deepEqual(config.jwks, { cooldownSeconds: 30, timeoutMs: 3000, maxResponseBytes: 65536, maxAgeSeconds: 600 });
    assert.equal(config.decisionCacheSize, 1000);
    assert.equal(config.jwksSnapshot.size, 0);
    assert.equal(config.jwksPrefetch, true);
  });

  it('keeps the issuer byte for byte (no trailing-slash normalisation)', () => {
    assert.equal(loadConfig({ AUTH_ISSUER: 'https://issuer.example.com' }).issuers[0]?.issuer, 'https://issuer.example.com');
  });

  it('pairs several issuers with their own JWKS URLs', () => {
    const config = loadConfig({ AUTH_ISSUER: 'https://a.example/, https://b.example/', AUTH_JWKS_URI: 'https://a.example/keys,https://b.example/keys' });
    assert.deepEqual(config.issuers.map(({ issuer, jwksUri }) => ({ issuer, jwksUri })), [
      { issuer: 'https://a.example/', jwksUri: 'https://a.example/keys' },
      { issuer: 'https://b.example/', jwksUri: 'https://b.example/keys' },
    ]);
  });

  it('reads every option', () => {
    const config = loadConfig({
      AUTH_ISSUER: ISSUER, AUTH_ALGORITHMS: 'RS256,ES256', AUTH_CLOCK_TOLERANCE_SECONDS: '0', AUTH_SCOPE_CLAIMS: 'scp,permissions',
      AUTH_REQUIRE_AT_JWT: 'true', AUTH_MAX_TOKEN_BYTES: '4096', AUTH_JWKS_COOLDOWN_SECONDS: '10', AUTH_JWKS_TIMEOUT_MS: '500', AUTH_JWKS_MAX_BYTES: '2048',
      AUTH_JWKS_MAX_AGE_SECONDS: '120', AUTH_DECISION_CACHE_SIZE: '0', AUTH_JWKS_PREFETCH: 'false',
    });
    assert.equal(config.jwksPrefetch, false);
    assert.equal(config.decisionCacheSize, 0);
    assert.deepEqual(config.algorithms, ['RS256', 'ES256']);
    assert.equal(config.clockToleranceSeconds, 0);
    assert.deepEqual(config.issuers[0]!.profile.scopeClaims, ['scp', 'permissions']);
    assert.equal(config.issuers[0]!.profile.requireAccessTokenType, true);
    assert.equal(config.maxTokenBytes, 4096);
    assert.deepEqual(config.jwks, { cooldownSeconds: 10, timeoutMs: 500, maxResponseBytes: 2048, maxAgeSeconds: 120 });
  });

  it('names the variable and the fix for each mistake', () => {
    assert.throws(() => loadConfig({}), naming('AUTH_ISSUER', /is required/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: ' , ' }), naming('AUTH_ISSUER', /is required/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: 'not a url' }), naming('AUTH_ISSUER', /absolute URL/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: 'http://issuer.example.com/' }), naming('AUTH_ISSUER', /https/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: `${ISSUER},${ISSUER}` }), naming('AUTH_ISSUER', /twice/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: 'https://a/,https://b/', AUTH_JWKS_URI: 'https://a/keys' }), naming('AUTH_JWKS_URI', /one JWKS URL per AUTH_ISSUER/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_JWKS_URI: 'http://keys.example.com/jwks' }), naming('AUTH_JWKS_URI', /https/));
    for (const alg of ['none', 'HS256', 'RS1']) {
      assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_ALGORITHMS: alg }), naming('AUTH_ALGORITHMS', /not supported/));
    }
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_SCOPE_CLAIMS: 'groups' }), naming('AUTH_SCOPE_CLAIMS', /not a known scope claim/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_REQUIRE_AT_JWT: 'yes please' }), naming('AUTH_REQUIRE_AT_JWT', /true or false/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_JWKS_PREFETCH: 'soon' }), naming('AUTH_JWKS_PREFETCH', /true or false/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_JWKS_COOLDOWN_SECONDS: '60' }), naming('AUTH_JWKS_COOLDOWN_SECONDS', /0 to 30/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_CLOCK_TOLERANCE_SECONDS: '1.5' }), naming('AUTH_CLOCK_TOLERANCE_SECONDS', /whole number/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_MAX_TOKEN_BYTES: '100' }), naming('AUTH_MAX_TOKEN_BYTES', /512 to 65536/));
  });

  it('allows plain http only for loopback issuers (the local stack)', () => {
    assert.equal(loadConfig({ AUTH_ISSUER: 'http://localhost:4000/' }).issuers[0]?.issuer, 'http://localhost:4000/');
    assert.equal(loadConfig({ AUTH_ISSUER: 'http://127.0.0.1:4000/' }).issuers.length, 1);
  });
});
