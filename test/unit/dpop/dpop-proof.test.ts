/**
 * DpopProofVerifier (lib/dpop/dpop-proof.ts), RFC 9449 §4.3: every check with a proof built to fail
 * it and nothing else. Every refusal is an AuthError whose message names the check that failed.
 */
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { accessTokenHash, DpopProofVerifier, type ProofExpectations, type ProofRules } from '../../../lib/dpop/dpop-proof.js';
import { jwkThumbprint } from '../../../lib/dpop/thumbprint.js';
import { AuthError, type ReasonCode } from '../../../lib/errors.js';
import { SUPPORTED_ALGORITHMS } from '../../../lib/jwt/algorithms.js';
import { ath, dpopProof, type ProofParts, publicJwk, thumbprintOf } from '../../helpers/dpop.js';
import { b64url, generateTestKey, signWith, type TestKey } from '../../helpers/jwt.js';

const URL = 'https://api.example.com/prod/calendar/v1/events';
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c3JfMTIzIn0.c2lnbmF0dXJl';
const RULES: ProofRules = { algorithms: [...SUPPORTED_ALGORITHMS], iatWindowSeconds: 300, clockToleranceSeconds: 5 };
const key = generateTestKey('ES256');
const other = generateTestKey('ES256');

const nowSeconds = () => Math.floor(Date.now() / 1000);
const expectations = (overrides: Partial<ProofExpectations> = {}, signer: TestKey = key): ProofExpectations => ({
  method: 'GET', url: URL, accessToken: TOKEN, boundKey: thumbprintOf(signer), now: nowSeconds(), ...overrides,
});
const proofBy = (signer: TestKey, parts: Partial<ProofParts> = {}): string => dpopProof(signer, { htm: 'GET', htu: URL, token: TOKEN, ...parts });

/** A proof from raw JSON text, for what JSON.stringify cannot write (1e400). */
function rawProof(signer: TestKey, headerJson: string, payloadJson: string, alg = signer.alg): string {
  const input = `${b64url(headerJson)}.${b64url(payloadJson)}`;
  return `${input}.${b64url(signWith(alg, signer.privateKey, input))}`;
}

function refuses(verifier: DpopProofVerifier, proof: string, check: RegExp, expected: ProofExpectations = expectations(), code: ReasonCode = 'dpop_proof_invalid'): void {
  assert.throws(() => verifier.verify(proof, expected), (error: unknown) => {
    assert.ok(error instanceof AuthError, `an AuthError, not ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, check);
    return true;
  });
}

describe('DpopProofVerifier: accepted proofs', () => {
  it('a valid proof for ES256, ES384, ES512, PS256, RS256 and EdDSA gives its jti, iat and thumbprint', () => {
    const verifier = new DpopProofVerifier(RULES);
    for (const kind of ['ES256', 'ES384', 'ES512', 'PS256', 'RS256', 'EdDSA'] as const) {
      const signer = generateTestKey(kind);
      const jti = randomUUID();
      const iat = nowSeconds() - 10;
      const verified = verifier.verify(proofBy(signer, { payload: { jti, iat } }), expectations({}, signer));
      assert.deepEqual(verified, { jti, iat, thumbprint: thumbprintOf(signer) }, kind);
    }
  });

  it('accessTokenHash is base64url SHA-256 of the token, as the client computes ath', () => {
    assert.equal(accessTokenHash(TOKEN), ath(TOKEN));
    assert.doesNotMatch(accessTokenHash(TOKEN), /[=+/]/);
  });

  it('typ is compared as a media type, case-insensitively', () => {
    new DpopProofVerifier(RULES).verify(proofBy(key, { header: { typ: 'DPoP+JWT' } }), expectations());
  });
});

describe('DpopProofVerifier: the proof as a JWS', () => {
  const verifier = new DpopProofVerifier(RULES);

  it('size cap: a proof over 4096 characters is refused before it is parsed; one at the cap is read', () => {
    refuses(verifier, proofBy(key, { payload: { pad: 'x'.repeat(5000) } }), /larger than 4096 bytes/);
    refuses(verifier, 'a'.repeat(100_000), /larger than 4096 bytes/);
    let atCap: string | undefined;
    let overCap: string | undefined;
    const jti = randomUUID();
    const iat = nowSeconds();
    for (let pad = 1500; pad < 3500 && (atCap === undefined || overCap === undefined); pad += 1) {
      const proof = proofBy(key, { payload: { jti, iat, pad: 'x'.repeat(pad) } });
      if (proof.length > 4090 && proof.length <= 4096) atCap ??= proof;
      if (proof.length > 4096 && proof.length < 4100) overCap ??= proof;
    }
    assert.ok(atCap !== undefined && overCap !== undefined, 'proofs either side of the cap');
    verifier.verify(atCap, expectations());
    refuses(verifier, overCap, /larger than 4096/);
  });

  it('what is not a compact JWS is refused', () => {
    for (const proof of ['', 'not-a-jws', 'a.b', 'a.b.c.d', `${b64url('{"typ":"dpop+jwt"}')}..`, '!!!.???.***', `${b64url('[]')}.${b64url('{}')}.AA`, `${b64url('not json')}.${b64url('{}')}.AA`]) {
      refuses(verifier, proof, /not a compact JWS/);
    }
  });

  it('a critical header extension (crit) is refused: none is implemented (RFC 7515 §4.1.11)', () => {
    refuses(verifier, proofBy(key, { header: { crit: ['urn:example:ext'], 'urn:example:ext': true } }), /"crit"/);
  });

  it('typ missing, "JWT", "at+jwt", or not a string is refused', () => {
    for (const typ of [undefined, 'JWT', 'at+jwt', 'dpop', 'application/dpop+jwt', ['dpop+jwt'], 1]) {
      refuses(verifier, proofBy(key, { header: { typ } }), /"typ" is not "dpop\+jwt"/);
    }
  });

  it('alg none, HS256, missing, unknown, or not in the allow-list is refused', () => {
    const header = b64url({ typ: 'dpop+jwt', alg: 'none', jwk: publicJwk(key) });
    const payload = b64url({ jti: randomUUID(), htm: 'GET', htu: URL, iat: nowSeconds(), ath: ath(TOKEN) });
    refuses(verifier, `${header}.${payload}.`, /"alg" "none" is not an asymmetric algorithm/);
    // HS256 keyed with the public key's own bytes: the classic algorithm-confusion forgery.
    const hsHeader = b64url({ typ: 'dpop+jwt', alg: 'HS256', jwk: publicJwk(key) });
    const mac = createHmac('sha256', JSON.stringify(publicJwk(key))).update(`${hsHeader}.${payload}`).digest('base64url');
    refuses(verifier, `${hsHeader}.${payload}.${mac}`, /"alg" "HS256" is not an asymmetric algorithm/);
    const claims = JSON.stringify({ jti: randomUUID(), htm: 'GET', htu: URL, iat: nowSeconds(), ath: ath(TOKEN) });
    refuses(verifier, rawProof(key, JSON.stringify({ typ: 'dpop+jwt', jwk: publicJwk(key) }), claims, 'ES256'), /"alg" undefined is not/);
    refuses(verifier, rawProof(key, JSON.stringify({ typ: 'dpop+jwt', alg: 'es256', jwk: publicJwk(key) }), claims, 'ES256'), /"alg" "es256"/);
    refuses(verifier, rawProof(key, JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256K', jwk: publicJwk(key) }), claims, 'ES256'), /"alg" "ES256K"/);
    const narrow = new DpopProofVerifier({ ...RULES, algorithms: ['ES256'] });
    const es384 = generateTestKey('ES384');
    refuses(narrow, proofBy(es384), /"alg" "ES384" is not an asymmetric algorithm this authorizer accepts \(ES256\)/, expectations({}, es384));
    narrow.verify(proofBy(key), expectations());
  });

  it('a header without a jwk, or with one that is not an object, is refused', () => {
    for (const jwk of [undefined, null, 'eyJrdHkiOiJFQyJ9', [publicJwk(key)], 42]) {
      refuses(verifier, proofBy(key, { header: { jwk } }), /the header has no "jwk"/);
    }
    refuses(verifier, proofBy(key, { header: { jwk: undefined, kid: key.kid } }), /no "jwk"/, expectations(), 'dpop_proof_invalid');
  });

  it('a jwk with private key material ("d", RSA "p"…"qi") or a symmetric "k" is refused, whatever cnf.jkt says', () => {
    const privateJwk = key.privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
    refuses(verifier, proofBy(key, { header: { jwk: privateJwk } }), /private key material \("d"\)/);
    const rsa = generateTestKey('RS256');
    const rsaPrivate = rsa.privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
    refuses(verifier, proofBy(rsa, { header: { jwk: rsaPrivate } }), /private key material \("d"\)/, expectations({}, rsa));
    const { d: _d, ...withoutD } = rsaPrivate;
    refuses(verifier, proofBy(rsa, { header: { jwk: withoutD } }), /private key material \("p"\)/, expectations({}, rsa));
    refuses(verifier, proofBy(key, { header: { jwk: { ...publicJwk(key), k: 'c2VjcmV0' } } }), /private key material \("k"\)/);
    refuses(verifier, proofBy(key, { header: { jwk: { kty: 'oct', k: 'c2VjcmV0' } } }), /private key material \("k"\)/);
  });

  it('a jwk that is no RSA, EC or OKP public key is refused', () => {
    refuses(verifier, proofBy(key, { header: { jwk: { kty: 'oct' } } }), /not an RSA, EC or OKP public key/);
    refuses(verifier, proofBy(key, { header: { jwk: { ...publicJwk(key), x: 7 } } }), /not an RSA, EC or OKP public key/);
    // Well-formed members that are no point on the curve: the thumbprint is the token's, the key is still refused.
    const bogus = { kty: 'EC', crv: 'P-256', x: b64url(Buffer.alloc(32, 1)), y: b64url(Buffer.alloc(32, 2)) };
    refuses(verifier, proofBy(key, { header: { jwk: bogus } }), /its "jwk" is not a valid public key/, expectations({ boundKey: jwkThumbprint(bogus)! }));
  });

  it('a kty that names an Object.prototype member is refused as dpop_proof_invalid', () => {
    refuses(verifier, proofBy(key, { header: { jwk: { kty: 'toString', x: 'a', y: 'b', crv: 'P-256' } } }), /not an RSA, EC or OKP public key/);
  });

  it('a jwk whose kty or crv does not fit alg, or whose own alg says another, is refused', () => {
    const rsa = generateTestKey('RS256');
    // RSA key in the header, ES256 in alg (signed by an EC key so that only the key/alg rule fails).
    refuses(verifier, proofBy(rsa, { header: { alg: 'ES256' }, signer: key }), /its "jwk" \(RSA\) cannot verify ES256/, expectations({}, rsa));
    refuses(verifier, proofBy(key, { header: { alg: 'RS256' }, signer: rsa }), /its "jwk" \(EC P-256\) cannot verify RS256/);
    const es384 = generateTestKey('ES384');
    refuses(verifier, proofBy(es384, { header: { alg: 'ES256' }, signer: key }), /\(EC P-384\) cannot verify ES256/, expectations({}, es384));
    refuses(verifier, proofBy(key, { header: { jwk: { ...publicJwk(key), alg: 'ES384' } } }), /cannot verify ES256/);
    const ed = generateTestKey('EdDSA');
    refuses(verifier, proofBy(ed, { header: { alg: 'ES256' }, signer: key }), /\(OKP Ed25519\) cannot verify ES256/, expectations({}, ed));
  });

  it('an RSA key of 1024 bits is refused', () => {
    const weak = generateTestKey('RSA1024');
    refuses(verifier, proofBy(weak), /its RSA key is under 2048 bits/, expectations({}, weak));
    // Refused again: a refused key is not cached as a good one.
    refuses(verifier, proofBy(weak), /under 2048 bits/, expectations({}, weak));
  });

  it('a signature by another key than the header\'s jwk, or altered, is refused', () => {
    refuses(verifier, proofBy(key, { signer: other }), /the signature does not verify under its "jwk"/);
    const good = proofBy(key);
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const flipped = Buffer.from(signature, 'base64url');
    flipped.writeUInt8(flipped.readUInt8(5) ^ 1, 5);
    refuses(verifier, `${header}.${payload}.${b64url(flipped)}`, /signature does not verify/);
    refuses(verifier, `${header}.${payload}.${signature.slice(0, 40)}`, /signature does not verify/);
    // The payload swapped for another (htm POST) under the old signature.
    const swapped = b64url({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>, htm: 'POST' });
    refuses(verifier, `${header}.${swapped}.${signature}`, /signature does not verify/, expectations({ method: 'POST' }));
  });

  it('a proof whose jwk is another key than cnf.jkt is dpop_binding_mismatch, even with a good signature', () => {
    refuses(verifier, proofBy(other), /another key than the one the token is bound to \("cnf\.jkt"\)/, expectations(), 'dpop_binding_mismatch');
    // The token's key in the header, but signed by the other: the signature check refuses it.
    refuses(verifier, proofBy(key, { signer: other }), /signature does not verify/);
    // The token's public key with the attacker's key signing, the header naming the attacker's key.
    refuses(verifier, proofBy(other, { header: { kid: key.kid } }), /cnf\.jkt/, expectations(), 'dpop_binding_mismatch');
  });
});

describe('DpopProofVerifier: the claims', () => {
  const verifier = new DpopProofVerifier(RULES);

  it('jti missing, empty, too long or not a string is refused; 256 characters are accepted', () => {
    for (const jti of [undefined, '', 'x'.repeat(257), 42, ['a'], { id: 'a' }]) {
      refuses(verifier, proofBy(key, { payload: { jti } }), /"jti" is missing or not a string of 1 to 256 characters/);
    }
    verifier.verify(proofBy(key, { payload: { jti: 'x'.repeat(256) } }), expectations());
    verifier.verify(proofBy(key, { payload: { jti: 'a' } }), expectations());
  });

  it('htm other than the request\'s method is refused, case-sensitively', () => {
    refuses(verifier, proofBy(key, { htm: 'POST' }), /"htm" is "POST", not the request's method GET/);
    refuses(verifier, proofBy(key, { htm: 'get' }), /"htm" is "get", not the request's method GET/);
    refuses(verifier, proofBy(key, { payload: { htm: undefined } }), /"htm" is undefined/);
    refuses(verifier, proofBy(key, { payload: { htm: ['GET'] } }), /"htm"/);
    verifier.verify(proofBy(key, { htm: 'POST' }), expectations({ method: 'POST' }));
  });

  it('htu of another host, path, scheme or port is refused', () => {
    for (const htu of [
      'https://evil.example.com/prod/calendar/v1/events',
      'https://api.example.com/prod/calendar/v1/events/1',
      'https://api.example.com/dev/calendar/v1/events',
      'https://api.example.com/prod/Calendar/v1/events',
      'http://api.example.com/prod/calendar/v1/events',
      'https://api.example.com:8443/prod/calendar/v1/events',
      'https://api.example.com/prod/calendar/v1/events/',
      'https://user@api.example.com/prod/calendar/v1/events',
      'wss://api.example.com/prod/calendar/v1/events',
      '/prod/calendar/v1/events',
    ]) {
      refuses(verifier, proofBy(key, { htu }), /"htu" is .*, not the request's URL https:\/\/api\.example\.com\/prod\/calendar\/v1\/events/, expectations());
    }
    refuses(verifier, proofBy(key, { payload: { htu: undefined } }), /"htu" is undefined/);
    refuses(verifier, proofBy(key, { payload: { htu: 42 } }), /"htu" is 42/);
  });

  it('htu with a query or fragment is accepted (they are ignored), and so is one that differs only by normalisation', () => {
    for (const htu of [
      `${URL}?from=2024-01-01`,
      `${URL}#top`,
      'HTTPS://API.EXAMPLE.COM/prod/calendar/v1/events',
      'https://api.example.com:443/prod/calendar/v1/events',
      'https://api.example.com/prod/./calendar/x/../v1/events',
      'https://api.example.com/prod/%63alendar/v1/events',
    ]) {
      verifier.verify(proofBy(key, { htu }), expectations());
    }
  });

  it('iat in the future beyond the tolerance is refused; at the tolerance it is accepted', () => {
    const now = nowSeconds();
    refuses(verifier, proofBy(key, { payload: { iat: now + 6 } }), /"iat" is in the future/, expectations({ now }));
    refuses(verifier, proofBy(key, { payload: { iat: now + 86_400 } }), /"iat" is in the future/, expectations({ now }));
    verifier.verify(proofBy(key, { payload: { iat: now + 5 } }), expectations({ now }));
  });

  it('iat older than the window plus the tolerance is refused; at the edge it is accepted', () => {
    const now = nowSeconds();
    refuses(verifier, proofBy(key, { payload: { iat: now - 306 } }), /"iat" is more than 300 s old \(AUTH_DPOP_IAT_WINDOW_SECONDS\)/, expectations({ now }));
    refuses(verifier, proofBy(key, { payload: { iat: 0 } }), /more than 300 s old/, expectations({ now }));
    verifier.verify(proofBy(key, { payload: { iat: now - 305 } }), expectations({ now }));
    verifier.verify(proofBy(key, { payload: { iat: now - 0.5 } }), expectations({ now }));
    const strict = new DpopProofVerifier({ ...RULES, iatWindowSeconds: 10, clockToleranceSeconds: 0 });
    refuses(strict, proofBy(key, { payload: { iat: now - 11 } }), /more than 10 s old/, expectations({ now }));
    refuses(strict, proofBy(key, { payload: { iat: now + 1 } }), /in the future/, expectations({ now }));
    strict.verify(proofBy(key, { payload: { iat: now - 10 } }), expectations({ now }));
  });

  it('iat that is not a finite number is refused', () => {
    for (const iat of [undefined, String(nowSeconds()), null, [nowSeconds()], { t: 1 }, true]) {
      refuses(verifier, proofBy(key, { payload: { iat } }), /"iat" is missing or not a NumericDate/);
    }
    const header = JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk(key) });
    refuses(verifier, rawProof(key, header, `{"jti":"j1","htm":"GET","htu":"${URL}","iat":1e400,"ath":"${ath(TOKEN)}"}`), /"iat" is missing or not a NumericDate/);
    refuses(verifier, rawProof(key, header, `{"jti":"j2","htm":"GET","htu":"${URL}","iat":-1e400,"ath":"${ath(TOKEN)}"}`), /"iat" is missing or not a NumericDate/);
  });

  it('ath missing, another token\'s, or padded is refused', () => {
    refuses(verifier, proofBy(key, { payload: { ath: undefined } }), /"ath" is not the hash of the access token it came with/);
    refuses(verifier, proofBy(key, { token: `${TOKEN}x` }), /"ath" is not the hash/);
    refuses(verifier, proofBy(key, { payload: { ath: `${ath(TOKEN)}=` } }), /"ath" is not the hash/);
    refuses(verifier, proofBy(key, { payload: { ath: Buffer.from(ath(TOKEN), 'base64url').toString('base64') } }), /"ath"/);
    refuses(verifier, proofBy(key, { payload: { ath: ath(TOKEN).toUpperCase() } }), /"ath"/);
    // A proof for token A presented with token B.
    refuses(verifier, proofBy(key), /"ath"/, expectations({ accessToken: 'another.access.token' }));
  });
});

describe('DpopProofVerifier: the key cache', () => {
  it('a second proof by the same key verifies (from the cache), and so does a third by another key of the same shape', () => {
    const verifier = new DpopProofVerifier(RULES);
    verifier.verify(proofBy(key), expectations());
    verifier.verify(proofBy(key), expectations());
    verifier.verify(proofBy(other), expectations({}, other));
    // Once both are cached, neither stands in for the other.
    refuses(verifier, proofBy(key, { signer: other }), /signature does not verify/);
    refuses(verifier, proofBy(other, { signer: key }), /signature does not verify/, expectations({}, other));
  });

  it('a cached key is still held to the key/alg rules: its JWK with another alg or kty claim is not served from the cache', () => {
    const verifier = new DpopProofVerifier(RULES);
    verifier.verify(proofBy(key), expectations());
    // Same thumbprint (alg is no thumbprint member), so the same cache entry: the rule runs first.
    refuses(verifier, proofBy(key, { header: { jwk: { ...publicJwk(key), alg: 'ES384' } } }), /cannot verify ES256/);
    const rsa = generateTestKey('RS256');
    verifier.verify(proofBy(rsa), expectations({}, rsa));
    // The cached RSA key verifies PS256 too (one key, both RSA algorithms), and never an EC alg.
    verifier.verify(proofBy(rsa, { header: { alg: 'PS256' } }), expectations({}, rsa));
    refuses(verifier, proofBy(rsa, { header: { alg: 'ES256' }, signer: key }), /\(RSA\) cannot verify ES256/, expectations({}, rsa));
  });

  it('members outside the thumbprint (a different kid, use, key_ops) do not give a key a second identity', () => {
    const verifier = new DpopProofVerifier(RULES);
    verifier.verify(proofBy(key, { header: { jwk: { ...publicJwk(key), kid: 'one' } } }), expectations());
    verifier.verify(proofBy(key, { header: { jwk: { ...publicJwk(key), kid: 'two', use: 'sig' } } }), expectations());
    refuses(verifier, proofBy(key, { header: { jwk: { ...publicJwk(key), kid: 'three' } }, signer: other }), /signature does not verify/);
  });

  it('many keys do not grow the cache beyond its bound, and an evicted key verifies again', () => {
    const verifier = new DpopProofVerifier(RULES);
    const keys = Array.from({ length: 300 }, () => generateTestKey('EdDSA'));
    for (const each of keys) verifier.verify(proofBy(each), expectations({}, each));
    const cache = (verifier as unknown as { keys: { size: number } }).keys;
    assert.ok(cache.size <= 256, `cache holds ${cache.size}`);
    verifier.verify(proofBy(keys[0]!), expectations({}, keys[0]!));
  });
});
