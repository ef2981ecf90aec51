import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAuthorization, parseBearerToken } from '../../../lib/authorizer/bearer.js';
import { AuthError, type ReasonCode } from '../../../lib/errors.js';

/** The refusal's code and its whole message: the message is what an operator reads in the log. */
const refusal = (code: ReasonCode, message: string) => (error: unknown) =>
  error instanceof AuthError && error.code === code && error.message === message;

describe('parseAuthorization: the Bearer and DPoP schemes', () => {
  it('reads either scheme in any case, with the blanks a client or a proxy leaves around it', () => {
    for (const value of ['DPoP a.b.c', 'dpop a.b.c', 'DPOP   a.b.c', ' \tDPoP a.b.c\t ']) {
      assert.deepEqual(parseAuthorization(value, 8192), { scheme: 'dpop', token: 'a.b.c' }, JSON.stringify(value));
    }
    for (const value of ['Bearer a.b.c', 'bEaReR a.b.c', '\t Bearer  a.b.c \t']) {
      assert.deepEqual(parseAuthorization(value, 8192), { scheme: 'bearer', token: 'a.b.c' }, JSON.stringify(value));
    }
  });

  it('refuses near-misses of the DPoP scheme, and other four-letter schemes (HOBA, RFC 7486)', () => {
    for (const value of ['HOBA a.b.c', 'Toke a.b.c', 'DPoP', 'DPoPa.b.c', 'DPoP\ta.b.c', 'DPo a.b.c', 'DPoPs a.b.c', 'D-PoP a.b.c']) {
      assert.throws(() => parseAuthorization(value, 8192), (error: unknown) => error instanceof AuthError && error.code === 'scheme_invalid', JSON.stringify(value));
    }
  });

  it('a DPoP credential handed to the Bearer-only reader is refused, not read as a bearer token', () => {
    assert.throws(() => parseBearerToken('DPoP a.b.c', 8192), refusal('scheme_invalid', 'Authorization header is not a bearer credential'));
    assert.equal(parseBearerToken('Bearer a.b.c', 8192), 'a.b.c');
  });

  it('says in each refusal what was wrong with the header', () => {
    const cases: [unknown, ReasonCode, string][] = [
      [undefined, 'token_missing', 'no Authorization header'],
      [null, 'token_missing', 'no Authorization header'],
      ['', 'token_missing', 'no Authorization header'],
      [' \t ', 'token_missing', 'no Authorization header'],
      [['Bearer a.b.c'], 'event_invalid', 'the Authorization value in the event is not a string'],
      [`Basic ${'x'.repeat(200)}`, 'token_too_large', 'Authorization header exceeds 100 bytes'],
      ['Basic dXNlcjpwYXNz', 'scheme_invalid', 'Authorization header is not a Bearer or DPoP credential'],
      ['Bearer  \t ', 'scheme_invalid', 'Authorization header has the Bearer scheme but no credential'],
      ['DPoP   ', 'scheme_invalid', 'Authorization header has the DPoP scheme but no credential'],
      [`Bearer ${'a'.repeat(101)}`, 'token_too_large', 'token exceeds 100 bytes'],
      [`DPoP ${'a'.repeat(101)}`, 'token_too_large', 'token exceeds 100 bytes'],
    ];
    for (const [value, code, message] of cases) {
      assert.throws(() => parseAuthorization(value, 100), refusal(code, message), JSON.stringify(value));
    }
  });

  it('a header of blanks around one character stops at that character, on either side', () => {
    // The blank-skipping loops have no bound of their own: the non-blank character is their bound.
    assert.throws(() => parseAuthorization(`${' '.repeat(40)}x${'\t'.repeat(40)}`, 100), refusal('scheme_invalid', 'Authorization header is not a Bearer or DPoP credential'));
    assert.deepEqual(parseAuthorization(`Bearer x${' '.repeat(20)}`, 100), { scheme: 'bearer', token: 'x' });
    // A newline is whitespace to trim() but not a blank here: it stays, and the header has a character.
    assert.throws(() => parseAuthorization('\n', 100), refusal('token_missing', 'no Authorization header'));
  });
});
