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

  it('refuses a huge header of another scheme for its size, before reading its scheme', () => {
    // A megabyte of Basic credentials, or of blanks and junk: the cap answers before any scan.
    for (const value of [`Basic ${'QUFB'.repeat(262144)}`, `${' '.repeat(10000)}Bearer a.b.c`, 'x'.repeat(8192 + 33), `Negotiate ${'Y'.repeat(9000)}`]) {
      assert.throws(() => parseBearerToken(value, 8192), refusedWith('token_too_large'), `${value.slice(0, 12)}… (${value.length})`);
    }
  });

  it('takes a header and a token exactly at their limits, and refuses one character more', () => {
    const max = 100;
    const token = 'a'.repeat(max);
    // The token at the cap: accepted, with one space or with the header padded to the header cap (max + 32).
    assert.equal(parseBearerToken(`Bearer ${token}`, max), token);
    const atHeaderCap = `Bearer ${' '.repeat(25)}${token}`;
    assert.equal(atHeaderCap.length, max + 32);
    assert.equal(parseBearerToken(atHeaderCap, max), token);
    assert.equal(parseBearerToken(`  Bearer ${token}${' \t'.repeat(11)} `, max), token);
    // One more: the token, or the header.
    assert.throws(() => parseBearerToken(`Bearer ${token}a`, max), refusedWith('token_too_large'));
    assert.throws(() => parseBearerToken(`${atHeaderCap} `, max), refusedWith('token_too_large'));
    assert.throws(() => parseBearerToken(`Basic ${'x'.repeat(max + 27)}`, max), refusedWith('token_too_large'));
    // A header of another scheme at the header cap is refused for its scheme, not its size.
    assert.throws(() => parseBearerToken(`Basic ${'x'.repeat(max + 26)}`, max), refusedWith('scheme_invalid'));
  });

  it('strips spaces and tabs around the credential, but not other whitespace, and needs a space after the scheme', () => {
    assert.equal(parseBearerToken('\tBearer a.b.c\t', 8192), 'a.b.c');
    assert.equal(parseBearerToken(' \t Bearer  a.b.c \t ', 8192), 'a.b.c');
    // A newline or a no-break space is not a blank: it stays in the credential, which the decoder refuses.
    for (const value of ['Bearer a.b.c\n', '\nBearer a.b.c', 'Bearer a.b.c\u00a0', '\rBearer a.b.c']) {
      let token: string | undefined;
      try {
        token = parseBearerToken(value, 8192);
      } catch (error) {
        assert.ok(refusedWith('scheme_invalid')(error), JSON.stringify(value));
        continue;
      }
      assert.notEqual(token, 'a.b.c', JSON.stringify(value));
      assert.throws(() => decodeJwt(token), refusedWith('token_malformed'), JSON.stringify(value));
    }
    // Blanks alone after the scheme are no credential; "Bearer" must be followed by a space.
    for (const value of ['Bearer \t', '\tBearer\t', 'Bearer\ta.b.c', 'Bearer:a.b.c', 'Bearers a.b.c', 'Beare a.b.c']) {
      assert.throws(() => parseBearerToken(value, 8192), refusedWith('scheme_invalid'), JSON.stringify(value));
    }
  });
});
