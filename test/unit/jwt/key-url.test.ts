import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../../lib/authorizer/config.js';
import { ConfigError } from '../../../lib/errors.js';
import { isAllowedDiscoveredKeyUrl, isAllowedKeyUrl } from '../../../lib/jwt/key-url.js';

describe('key URL policy (applied to configured and discovered JWKS URLs)', () => {
  test('https anywhere and plain http to loopback literals are allowed', () => {
    for (const url of ['https://issuer.example/jwks.json', 'http://127.0.0.1:8080/jwks', 'http://127.1.2.3/', 'http://localhost/', 'http://[::1]:9/']) {
      assert.equal(isAllowedKeyUrl(new URL(url)), true, url);
    }
  });

  test('plain http to any other host is refused', () => {
    for (const url of ['http://issuer.example/jwks.json', 'http://10.0.0.1/', 'http://[::2]/', 'ftp://127.0.0.1/']) {
      assert.equal(isAllowedKeyUrl(new URL(url)), false, url);
    }
  });

  test('plain http to a DNS name that merely starts with "127." is refused', () => {
    for (const url of ['http://127.evil.example/jwks.json', 'http://127.0.0.1.nip.io/jwks.json']) {
      assert.equal(isAllowedKeyUrl(new URL(url)), false, url);
    }
    assert.throws(
      () => loadConfig({ AUTH_ISSUER: 'https://issuer.example/', AUTH_JWKS_URI: 'http://127.evil.example/jwks.json' }),
      (error: unknown) => error instanceof ConfigError && error.variable === 'AUTH_JWKS_URI',
    );
  });
});

describe('discovered JWKS URLs', () => {
  test('https always; loopback http only when the configured issuer is itself loopback http', () => {
    const cases: [string, string, boolean][] = [
      ['https://keys.example/jwks', 'https://issuer.example/', true],
      ['http://127.0.0.1:9001/2018-06-01/runtime/invocation/next', 'https://issuer.example/', false],
      ['http://localhost:4000/jwks', 'https://issuer.example/', false],
      ['http://127.0.0.1:4000/jwks', 'http://localhost:4000/', true],
      ['http://keys.example/jwks', 'http://localhost:4000/', false],
      ['http://127.0.0.1:4000/jwks', 'not a url', false],
    ];
    for (const [url, issuer, expected] of cases) assert.equal(isAllowedDiscoveredKeyUrl(new URL(url), issuer), expected, `${url} for ${issuer}`);
  });
});
