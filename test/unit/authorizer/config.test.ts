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

describe('loadConfig: issuer profiles', () => {
  const summary = (env: Record<string, string>) => loadConfig(env).issuers.map(({ issuer, jwksUri, profile }) => ({
    issuer, jwksUri, profile: profile.name, scopeClaims: [...profile.scopeClaims], typ: profile.requireAccessTokenType,
  }));

  it('one issuer keeps today\'s variables, with an optional profile whose defaults they override', () => {
    assert.deepEqual(summary({ AUTH_ISSUER: ISSUER, AUTH_ISSUER_PROFILE: 'entra' }), [
      { issuer: ISSUER, jwksUri: undefined, profile: 'entra', scopeClaims: ['scp', 'roles'], typ: false },
    ]);
    assert.deepEqual(summary({ AUTH_ISSUER: ISSUER, AUTH_ISSUER_PROFILE: 'okta', AUTH_SCOPE_CLAIMS: 'scope', AUTH_REQUIRE_AT_JWT: 'true' }), [
      { issuer: ISSUER, jwksUri: undefined, profile: 'okta', scopeClaims: ['scope'], typ: true },
    ]);
    // One profile per AUTH_ISSUER entry, in the same order.
    assert.deepEqual(summary({ AUTH_ISSUER: 'https://a/,https://b/', AUTH_ISSUER_PROFILE: 'auth0,keycloak' }).map((item) => item.profile), ['auth0', 'keycloak']);
  });

  it('AUTH_ISSUERS describes several issuers, each with its own JWKS and profile', () => {
    const issuers = JSON.stringify([
      { issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ab12', profile: 'cognito' },
      { issuer: 'https://login.microsoftonline.com/tid/v2.0', jwksUri: 'https://login.microsoftonline.com/tid/discovery/v2.0/keys', profile: 'entra', scopeClaims: ['scp'] },
      { issuer: 'https://idp.example/', requireAccessTokenType: true },
    ]);
    assert.deepEqual(summary({ AUTH_ISSUERS: issuers }), [
      { issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ab12', jwksUri: undefined, profile: 'cognito', scopeClaims: ['scope'], typ: false },
      { issuer: 'https://login.microsoftonline.com/tid/v2.0', jwksUri: 'https://login.microsoftonline.com/tid/discovery/v2.0/keys', profile: 'entra', scopeClaims: ['scp'], typ: false },
      { issuer: 'https://idp.example/', jwksUri: undefined, profile: 'rfc9068', scopeClaims: ['scope'], typ: true },
    ]);
  });

  it('names the entry and the fix for every mistake', () => {
    const issuers = (value: unknown) => ({ AUTH_ISSUERS: JSON.stringify(value) });
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_ISSUER_PROFILE: 'azure' }), naming('AUTH_ISSUER_PROFILE', /"azure" is not an issuer profile; choose from rfc9068, auth0, okta, entra, keycloak, cognito/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: 'https://a/,https://b/,https://c/', AUTH_ISSUER_PROFILE: 'okta,entra' }), naming('AUTH_ISSUER_PROFILE', /2 profiles for 3 issuer/));
    assert.throws(() => loadConfig({ AUTH_ISSUERS: '[{issuer:' }), naming('AUTH_ISSUERS', /not valid JSON/));
    assert.throws(() => loadConfig(issuers([])), naming('AUTH_ISSUERS', /non-empty JSON array/));
    assert.throws(() => loadConfig(issuers(['https://a/'])), naming('AUTH_ISSUERS[0]', /must be an object/));
    assert.throws(() => loadConfig(issuers([{ profile: 'okta' }])), naming('AUTH_ISSUERS[0].issuer', /is required/));
    assert.throws(() => loadConfig(issuers([{ issuer: ISSUER }, { issuer: ISSUER, profile: 'keycloack' }])), naming('AUTH_ISSUERS[1].profile', /"keycloack" is not an issuer profile/));
    assert.throws(() => loadConfig(issuers([{ issuer: ISSUER, scopes: ['scp'] }])), naming('AUTH_ISSUERS[0].scopes', /not a setting of an issuer/));
    assert.throws(() => loadConfig(issuers([{ issuer: ISSUER, scopeClaims: ['groups'] }])), naming('AUTH_ISSUERS[0].scopeClaims', /"groups" is not a known scope claim/));
    assert.throws(() => loadConfig(issuers([{ issuer: ISSUER, scopeClaims: 'scp' }])), naming('AUTH_ISSUERS[0].scopeClaims', /array of claim names/));
    assert.throws(() => loadConfig(issuers([{ issuer: ISSUER, requireAccessTokenType: 'true' }])), naming('AUTH_ISSUERS[0].requireAccessTokenType', /true or false/));
    assert.throws(() => loadConfig(issuers([{ issuer: 'http://idp.example/' }])), naming('AUTH_ISSUERS[0].issuer', /https/));
    assert.throws(() => loadConfig(issuers([{ issuer: ISSUER, jwksUri: 'http://keys.example/' }])), naming('AUTH_ISSUERS[0].jwksUri', /https/));
    assert.throws(() => loadConfig(issuers([{ issuer: ISSUER }, { issuer: ISSUER }])), naming('AUTH_ISSUERS', /twice/));
    assert.throws(() => loadConfig({ ...issuers([{ issuer: ISSUER }]), AUTH_ISSUER: ISSUER }), naming('AUTH_ISSUERS', /together with AUTH_ISSUER/));
    assert.throws(() => loadConfig({ ...issuers([{ issuer: ISSUER }]), AUTH_SCOPE_CLAIMS: 'scp' }), naming('AUTH_ISSUERS', /together with AUTH_SCOPE_CLAIMS/));
    // A missing scheme is named as such, not as "must use https".
    assert.throws(() => loadConfig({ AUTH_ISSUER: 'localhost:4000' }), naming('AUTH_ISSUER', /no scheme: did you mean https:\/\/localhost:4000/));
  });
});

describe('loadConfig: revocation', () => {
  it('is off unless AUTH_REVOCATION_TABLE names a table; then it has safe defaults', () => {
    assert.equal(loadConfig({ AUTH_ISSUER: ISSUER }).revocation, undefined);
    assert.deepEqual(loadConfig({ AUTH_ISSUER: ISSUER, AUTH_REVOCATION_TABLE: 'bearer-gate-prod-revocations' }).revocation, {
      tableName: 'bearer-gate-prod-revocations', endpoint: undefined, refreshSeconds: 5, maxStalenessSeconds: 60, failOpen: false, timeoutMs: 1000,
    });
  });

  it('names the variable and the fix for each mistake', () => {
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_REVOCATION_FAIL_OPEN: 'true' }), naming('AUTH_REVOCATION_FAIL_OPEN', /AUTH_REVOCATION_TABLE is not/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_REVOCATION_TABLE: 'no spaces please' }), naming('AUTH_REVOCATION_TABLE', /not a DynamoDB table name/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_REVOCATION_TABLE: 'rev', AUTH_REVOCATION_REFRESH_SECONDS: '30', AUTH_REVOCATION_MAX_STALENESS_SECONDS: '10' }), naming('AUTH_REVOCATION_MAX_STALENESS_SECONDS', /below AUTH_REVOCATION_REFRESH_SECONDS/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_REVOCATION_TABLE: 'rev', AUTH_REVOCATION_FAIL_OPEN: 'maybe' }), naming('AUTH_REVOCATION_FAIL_OPEN', /true or false/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_REVOCATION_TABLE: 'rev', AUTH_REVOCATION_ENDPOINT: '127.0.0.1:8000' }), naming('AUTH_REVOCATION_ENDPOINT', /not an http\(s\) URL/));
  });
});

describe('loadConfig: a misspelt variable', () => {
  it('is refused with the name it probably meant, since ignoring it would drop the check it was for', () => {
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_ISSUER_PROFILES: 'entra' }), naming('AUTH_ISSUER_PROFILES', /did you mean AUTH_ISSUER_PROFILE\?/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_REQUIRE_AT_JWTS: 'true' }), naming('AUTH_REQUIRE_AT_JWTS', /did you mean AUTH_REQUIRE_AT_JWT\?/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_REVOCATION_TABEL: 'revocations' }), naming('AUTH_REVOCATION_TABEL', /did you mean AUTH_REVOCATION_TABLE\?/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: 'https://api.example.com/' }), naming('AUTH_AUDIENCE', /audiences are in the route table/));
    assert.doesNotThrow(() => loadConfig({ AUTH_ISSUER: ISSUER, OTHER_TOOL_SETTING: 'x', POWERTOOLS_SERVICE_NAME: 'svc' }));
  });

  it('the revocation wait stays under the function timeout: AUTH_REVOCATION_TIMEOUT_MS is at most 1000', () => {
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_REVOCATION_TABLE: 'rev', AUTH_REVOCATION_TIMEOUT_MS: '5000' }), naming('AUTH_REVOCATION_TIMEOUT_MS', /50 to 1000/));
    assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, AUTH_REVOCATION_TIMEOUT_MS: '500' }), naming('AUTH_REVOCATION_TIMEOUT_MS', /AUTH_REVOCATION_TABLE is not/));
  });
});
