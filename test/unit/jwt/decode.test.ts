import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthError, type ReasonCode } from '../../../lib/errors.js';
import { decodeJwt, type JsonObject } from '../../../lib/jwt/decode.js';
import { LruCache } from '../../../lib/shared/lru-cache.js';
import { b64url } from '../../helpers/jwt.js';

const refusedWith = (code: ReasonCode, message?: RegExp) => (error: unknown) =>
  error instanceof AuthError && error.code === code && (message === undefined || message.test(error.message));

const HEADER = { alg: 'ES256', typ: 'at+jwt', kid: 'k1' };
const PAYLOAD = { iss: 'https://issuer.example/', sub: 'usr_123', aud: 'https://api.example.com/calendar/v1/', exp: 2000000000 };
const SIGNATURE = b64url(Buffer.alloc(64, 7));

/** base64url of a JSON object, padded with a filler claim until the encoding has `length % 4 === remainder`. */
function segmentWithLength(value: Record<string, unknown>, remainder: number): string {
  for (let fill = 0; ; fill += 1) {
    const segment = b64url({ ...value, ...(fill === 0 ? {} : { f: 'x'.repeat(fill) }) });
    if (segment.length % 4 === remainder) return segment;
  }
}

describe('decodeJwt: what is not a compact JWS', () => {
  it('splits a compact JWS into header, payload, the signed bytes and the signature', () => {
    const header = b64url(HEADER);
    const payload = b64url(PAYLOAD);
    const jwt = decodeJwt(`${header}.${payload}.${SIGNATURE}`);
    assert.deepEqual(jwt.header, HEADER);
    assert.deepEqual(jwt.payload, PAYLOAD);
    assert.equal(jwt.signingInput, `${header}.${payload}`);
    assert.deepEqual(jwt.signature, Buffer.alloc(64, 7));
    // An empty signature is read as empty, so that `alg: none` is refused by the algorithm rule.
    assert.deepEqual(decodeJwt(`${header}.${payload}.`).signature, Buffer.alloc(0));
  });

  it('names an opaque reference token and a JWE as token_not_jwt, saying which', () => {
    for (const opaque of ['2YotnFZFEjr1zCsicMWpAA', 'gho_16C7e42F292c6912E7710c838347Ae178B4a', 'abc-_~+/def==', 'a']) {
      assert.throws(() => decodeJwt(opaque), refusedWith('token_not_jwt', /opaque/), opaque);
    }
    const jwe = `${b64url({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.${b64url('key')}.${b64url('iv')}.${b64url('ciphertext')}.${b64url('tag')}`;
    assert.throws(() => decodeJwt(jwe), refusedWith('token_not_jwt', /JWE/));
    // "dir" has no encrypted key, and some algorithms no IV: those segments may be empty.
    assert.throws(() => decodeJwt(`${b64url({ alg: 'dir', enc: 'A256GCM' })}..${b64url('iv')}.${b64url('ciphertext')}.`), refusedWith('token_not_jwt', /JWE/));
  });

  it('refuses everything else as token_malformed, with the number of parts when that is what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['', /got 1/],
      ['a b', /got 1/],
      ['abc$', /got 1/],
      ['"quoted"', /got 1/],
      ['a.b', /got 2/],
      ['a.b.c.d', /got 4/],
      ['a.b.c.d.e.f', /got 6/],
      // Five parts, but not a JWE: an empty protected header or ciphertext, or a bad character.
      ['.b.c.d.e', /got 5/],
      ['a.b.c..e', /got 5/],
      ['a.b.c.d$.e', /got 5/],
      // Junk before or after five segments is not a JWE either.
      ['x$y.b.c.d.e', /got 5/],
      ['a.b.c.d.e$x', /got 5/],
      ['a b.c.d.e.f', /got 5/],
      // Three parts, one of them not base64url: padding, the standard alphabet, an empty header or payload.
      [`${b64url(HEADER)}=.${b64url(PAYLOAD)}.${SIGNATURE}`, /a segment is not base64url/],
      [`${b64url(HEADER)}.${b64url(PAYLOAD)}.${SIGNATURE}+/`, /a segment is not base64url/],
      [`.${b64url(PAYLOAD)}.${SIGNATURE}`, /a segment is not base64url/],
      [`${b64url(HEADER)}..${SIGNATURE}`, /a segment is not base64url/],
      [`${b64url(HEADER)}.${b64url(PAYLOAD)}.${SIGNATURE} `, /a segment is not base64url/],
    ];
    for (const [token, message] of cases) assert.throws(() => decodeJwt(token), refusedWith('token_malformed', message), JSON.stringify(token));
  });

  it('refuses a header or payload that is JSON but not an object', () => {
    for (const value of ['[]', '[{"alg":"ES256"}]', 'null', '42', '"ES256"', 'true']) {
      assert.throws(() => decodeJwt(`${b64url(value)}.${b64url(PAYLOAD)}.${SIGNATURE}`), refusedWith('token_malformed', /header is not a JSON object/), value);
      assert.throws(() => decodeJwt(`${b64url(HEADER)}.${b64url(value)}.${SIGNATURE}`), refusedWith('token_malformed', /payload is not a JSON object/), value);
    }
    for (const value of ['{', '{"alg":"ES256",}', '\u00ff\u00fe', '{"alg":"ES256"}x']) {
      assert.throws(() => decodeJwt(`${b64url(value)}.${b64url(PAYLOAD)}.${SIGNATURE}`), refusedWith('token_malformed', /header is not JSON/), value);
      assert.throws(() => decodeJwt(`${b64url(HEADER)}.${b64url(value)}.${SIGNATURE}`), refusedWith('token_malformed', /payload is not JSON/), value);
    }
  });
});

describe('decodeJwt: one spelling per segment', () => {
  it('refuses a segment of length 1 mod 4, even when the bytes it decodes to are valid JSON', () => {
    // Buffer's decoder drops a lone last character: "<valid>A" decodes to the same JSON as "<valid>".
    const header = segmentWithLength(HEADER, 0);
    const payload = segmentWithLength(PAYLOAD, 0);
    const signature = segmentWithLength({ s: 1 }, 0);
    assert.deepEqual(JSON.parse(Buffer.from(`${header}A`, 'base64url').toString('utf8')), JSON.parse(Buffer.from(header, 'base64url').toString('utf8')));
    assert.doesNotThrow(() => decodeJwt(`${header}.${payload}.${signature}`));
    for (const extra of ['A', 'Q', '_']) {
      assert.throws(() => decodeJwt(`${header}${extra}.${payload}.${signature}`), refusedWith('token_malformed', /header is not base64url/), extra);
      assert.throws(() => decodeJwt(`${header}.${payload}${extra}.${signature}`), refusedWith('token_malformed', /payload is not base64url/), extra);
      assert.throws(() => decodeJwt(`${header}.${payload}.${signature}${extra}`), refusedWith('token_malformed', /signature is not base64url/), extra);
    }
  });

  it('refuses stray bits in the last character of a segment of length 2 or 3 mod 4, and takes its canonical spelling', () => {
    for (const remainder of [2, 3]) {
      const header = segmentWithLength(HEADER, remainder);
      const payload = segmentWithLength(PAYLOAD, remainder);
      const signature = segmentWithLength({ s: 1 }, remainder);
      assert.doesNotThrow(() => decodeJwt(`${header}.${payload}.${signature}`), `remainder ${remainder}`);
      // The last character carries 2 (length 2 mod 4) or 4 (length 3 mod 4) data bits: its lowest bit is spare.
      const twin = (segment: string): string => {
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
        return `${segment.slice(0, -1)}${alphabet[alphabet.indexOf(segment.at(-1)!) | 1]}`;
      };
      // The twin decodes to the very same bytes: a second spelling of one token.
      assert.deepEqual(Buffer.from(twin(header), 'base64url'), Buffer.from(header, 'base64url'));
      assert.throws(() => decodeJwt(`${twin(header)}.${payload}.${signature}`), refusedWith('token_malformed', /header is not canonical/), `remainder ${remainder}`);
      assert.throws(() => decodeJwt(`${header}.${twin(payload)}.${signature}`), refusedWith('token_malformed', /payload is not canonical/), `remainder ${remainder}`);
      assert.throws(() => decodeJwt(`${header}.${payload}.${twin(signature)}`), refusedWith('token_malformed', /signature is not canonical/), `remainder ${remainder}`);
    }
  });

  it('takes every last character whose spare bits are zero, whatever its data bits', () => {
    // Length 2 mod 4: the last character's low 4 bits are spare; length 3 mod 4: its low 2 bits.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const [remainder, mask] of [[2, 0x0f], [3, 0x03]] as const) {
      const signature = segmentWithLength({ s: 1 }, remainder).slice(0, -1);
      const header = b64url(HEADER);
      const payload = b64url(PAYLOAD);
      for (const [value, char] of [...alphabet].entries()) {
        const token = `${header}.${payload}.${signature}${char}`;
        if ((value & mask) === 0) assert.doesNotThrow(() => decodeJwt(token), `${remainder} ${char}`);
        else assert.throws(() => decodeJwt(token), refusedWith('token_malformed', /canonical/), `${remainder} ${char}`);
      }
    }
  });
});

describe('decodeJwt: the header cache', () => {
  it('parses a header once per distinct segment and hands out the same frozen object', () => {
    const cache = new LruCache<string, JsonObject>(8);
    const token = `${b64url(HEADER)}.${b64url(PAYLOAD)}.${SIGNATURE}`;
    const first = decodeJwt(token, cache);
    const second = decodeJwt(`${b64url(HEADER)}.${b64url({ ...PAYLOAD, sub: 'other' })}.${SIGNATURE}`, cache);
    assert.equal(second.header, first.header);
    assert.equal(cache.size, 1);
    assert.ok(Object.isFrozen(first.header), 'a shared header must not be editable by one caller for the next');
    assert.throws(() => { (first.header as Record<string, unknown>)['alg'] = 'none'; }, TypeError);
    assert.equal(decodeJwt(token, cache).header['alg'], 'ES256');
    // Without a cache, each call parses its own header.
    assert.notEqual(decodeJwt(token).header, decodeJwt(token).header);
  });

  it('a flood of distinct headers keeps the cache at its capacity, and every token still decodes to its own header', () => {
    const cache = new LruCache<string, JsonObject>(64);
    const headers: string[] = [];
    for (let index = 0; index < 5000; index += 1) {
      // What an attacker varies for free: a kid, or any header member, per request.
      const header = { ...HEADER, kid: `k-${index}`, x: index % 7 };
      const segment = b64url(header);
      headers.push(segment);
      assert.deepEqual(decodeJwt(`${segment}.${b64url(PAYLOAD)}.${SIGNATURE}`, cache).header, header);
      assert.ok(cache.size <= 64, `the cache holds ${cache.size} headers`);
    }
    assert.equal(cache.size, 64);
    // The latest headers are still cached; the first was evicted and parses again, to the same value.
    const latest = `${headers.at(-1)!}.${b64url(PAYLOAD)}.${SIGNATURE}`;
    assert.equal(decodeJwt(latest, cache).header, decodeJwt(latest, cache).header);
    assert.equal(cache.peek(headers[0]!), undefined);
    assert.deepEqual(decodeJwt(`${headers[0]!}.${b64url(PAYLOAD)}.${SIGNATURE}`, cache).header, { ...HEADER, kid: 'k-0', x: 0 });
  });

  it('caches no header that fails to parse, and a bad payload does not poison the header\'s entry', () => {
    const cache = new LruCache<string, JsonObject>(8);
    assert.throws(() => decodeJwt(`${b64url('[1]')}.${b64url(PAYLOAD)}.${SIGNATURE}`, cache), refusedWith('token_malformed'));
    assert.equal(cache.size, 0);
    assert.throws(() => decodeJwt(`${b64url(HEADER)}.${b64url('[1]')}.${SIGNATURE}`, cache), refusedWith('token_malformed', /payload/));
    assert.deepEqual(decodeJwt(`${b64url(HEADER)}.${b64url(PAYLOAD)}.${SIGNATURE}`, cache).payload, PAYLOAD);
  });
});
