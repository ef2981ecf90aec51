import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBearerToken } from '../../../lib/authorizer/bearer.js';
import { AuthError, type ReasonCode } from '../../../lib/errors.js';
import { decodeJwt } from '../../../lib/jwt/decode.js';

const refusedWith = (code: ReasonCode) => (error: unknown) => error instanceof AuthError && error.code === code;

describe('parseBearerToken', () => {
  it('accepts the Bearer scheme in any case (RFC 7235)', () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      assert.equal(parseBearerToken(`${scheme} a.b.c`, 8192), 'a.b.c');
    }
  });

  it('tolerates surrounding whitespace and several spaces after the scheme', () => {
    assert.equal(parseBearerToken('  Bearer   a.b.c  ', 8192), 'a.b.c');
  });

  it('refuses a missing or empty header as token_missing', () => {
    for (const value of [undefined, null, '', '   ']) {
      assert.throws(() => parseBearerToken(value, 8192), refusedWith('token_missing'));
    }
  });

  it('refuses a value that is not a string (a hand-written or hostile event) as event_invalid, without failing', () => {
    for (const value of [42, true, ['Bearer a.b.c'], { toString: () => 'Bearer a.b.c' }]) {
      assert.throws(() => parseBearerToken(value, 8192), refusedWith('event_invalid'));
    }
  });

  it('refuses other schemes as scheme_invalid', () => {
    for (const value of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'Bearera.b.c', 'a.b.c', 'Token a.b.c', 'Bearer\ta.b.c', 'Bearer\u00a0a.b.c']) {
      assert.throws(() => parseBearerToken(value, 8192), refusedWith('scheme_invalid'), value);
    }
  });

  it("leaves the credential's characters to the JWT decoder, which refuses anything but one compact JWS", () => {
    for (const value of ['Bearer a.b.c extra', 'Bearer a b', 'Bearer a.b.c,Bearer d.e.f', 'Bearer "a.b.c"', 'Bearer a.b.c;x=y', 'Bearer eyJh.eyJh.sig\u00e9']) {
      assert.throws(() => decodeJwt(parseBearerToken(value, 8192)), refusedWith('token_malformed'), value);
    }
  });

  it('refuses an oversized header before matching it', () => {
    assert.throws(() => parseBearerToken(`Bearer ${'a'.repeat(9000)}`, 8192), refusedWith('token_too_large'));
    assert.throws(() => parseBearerToken(`Bearer ${'a'.repeat(600)}`, 512), refusedWith('token_too_large'));
  });
});
