/**
 * RFC 7638 JWK thumbprints (lib/dpop/thumbprint.ts): what a DPoP-bound token's `cnf.jkt` holds.
 * Checked against the RFC's own example and against an independent computation (test/helpers/dpop.ts).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { jwkThumbprint } from '../../../lib/dpop/thumbprint.js';
import { publicJwk, thumbprintOf } from '../../helpers/dpop.js';
import { generateTestKey } from '../../helpers/jwt.js';

// RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
const RFC_7638_KEY = {
  kty: 'RSA',
  n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  e: 'AQAB',
  alg: 'RS256',
  kid: '2011-04-29',
};
const RFC_7638_THUMBPRINT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';

/** The members in the reverse of their order, to show the input's order does not matter. */
const reversed = (jwk: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(jwk).reverse());

describe('jwkThumbprint (RFC 7638)', () => {
  it('gives the RFC 7638 §3.1 example RSA key its published thumbprint', () => {
    assert.equal(jwkThumbprint(RFC_7638_KEY), RFC_7638_THUMBPRINT);
  });

  it('EC keys (P-256, P-384, P-521) match an independent computation over crv, kty, x, y', () => {
    for (const kind of ['ES256', 'ES384', 'ES512'] as const) {
      const key = generateTestKey(kind);
      assert.equal(jwkThumbprint(publicJwk(key)), thumbprintOf(key), kind);
      const { crv, x, y } = key.jwk as Record<string, string>;
      const canonical = `{"crv":"${crv}","kty":"EC","x":"${x}","y":"${y}"}`;
      assert.equal(jwkThumbprint(publicJwk(key)), createHash('sha256').update(canonical).digest('base64url'), `${kind}, by hand`);
    }
  });

  it('OKP (Ed25519) and RSA keys match an independent computation', () => {
    for (const kind of ['EdDSA', 'RS256'] as const) {
      const key = generateTestKey(kind);
      assert.equal(jwkThumbprint(publicJwk(key)), thumbprintOf(key), kind);
    }
    const ed = generateTestKey('EdDSA');
    const { crv, x } = ed.jwk as Record<string, string>;
    assert.equal(jwkThumbprint(ed.jwk), createHash('sha256').update(`{"crv":"${crv}","kty":"OKP","x":"${x}"}`).digest('base64url'));
  });

  it('members other than the required ones (kid, alg, use, key_ops, ext, even private d) are ignored', () => {
    const key = generateTestKey('ES256');
    const expected = thumbprintOf(key);
    assert.equal(jwkThumbprint({ ...key.jwk, alg: 'ES256', key_ops: ['verify'], ext: true, x5c: ['MII…'] }), expected);
    const withPrivate = key.privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
    assert.equal(jwkThumbprint(withPrivate), expected, 'd is not a member the thumbprint covers');
    const { kid: _kid, alg: _alg, ...bare } = RFC_7638_KEY;
    assert.equal(jwkThumbprint(bare), RFC_7638_THUMBPRINT);
  });

  it('member order in the input is irrelevant', () => {
    assert.equal(jwkThumbprint(reversed(RFC_7638_KEY)), RFC_7638_THUMBPRINT);
    for (const kind of ['ES384', 'EdDSA'] as const) {
      const key = generateTestKey(kind);
      assert.equal(jwkThumbprint(reversed(key.jwk)), thumbprintOf(key), kind);
    }
  });

  it('a key type without public members to hash (oct, unknown, missing, not a string) has none', () => {
    assert.equal(jwkThumbprint({ kty: 'oct', k: 'c2VjcmV0' }), undefined);
    assert.equal(jwkThumbprint({ kty: 'rsa', n: RFC_7638_KEY.n, e: 'AQAB' }), undefined, 'kty is case-sensitive');
    assert.equal(jwkThumbprint({ kty: 'AKP', pub: 'x' }), undefined);
    assert.equal(jwkThumbprint({ n: RFC_7638_KEY.n, e: 'AQAB' }), undefined);
    assert.equal(jwkThumbprint({ kty: ['RSA'], n: RFC_7638_KEY.n, e: 'AQAB' }), undefined);
  });

  it('a kty that names an Object.prototype member (toString, constructor, __proto__, hasOwnProperty) has none', () => {
    for (const kty of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      assert.equal(jwkThumbprint({ kty, n: 'x', e: 'y', crv: 'P-256', x: 'x', y: 'y' }), undefined, kty);
    }
  });

  it('a required member missing or not a string gives no thumbprint', () => {
    assert.equal(jwkThumbprint({ kty: 'RSA', n: RFC_7638_KEY.n }), undefined, 'no e');
    assert.equal(jwkThumbprint({ kty: 'RSA', n: RFC_7638_KEY.n, e: 65537 }), undefined, 'e as a number');
    const key = generateTestKey('ES256');
    assert.equal(jwkThumbprint({ ...key.jwk, y: undefined }), undefined, 'EC without y');
    assert.equal(jwkThumbprint({ ...key.jwk, x: { value: key.jwk['x'] } }), undefined, 'x as an object');
    assert.equal(jwkThumbprint({ ...key.jwk, crv: null }), undefined, 'crv null');
    assert.equal(jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: 42 }), undefined, 'OKP x as a number');
  });

  it('values are hashed as JSON strings: a member with quotes or backslashes cannot forge another canonical form', () => {
    // {"e":"AQAB","kty":"RSA","n":"x"} vs. an e that tries to smuggle in the kty and n members.
    const honest = jwkThumbprint({ kty: 'RSA', e: 'AQAB', n: 'x' });
    const forged = jwkThumbprint({ kty: 'RSA', e: 'AQAB","kty":"RSA","n":"x', n: 'y' });
    assert.notEqual(forged, honest);
    assert.equal(jwkThumbprint({ kty: 'RSA', e: 'A"\\B', n: 'x' }), createHash('sha256').update(JSON.stringify({ e: 'A"\\B', kty: 'RSA', n: 'x' })).digest('base64url'));
  });
});
