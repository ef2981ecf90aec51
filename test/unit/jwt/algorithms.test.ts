import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../lib/authorizer/config.js';
import { type Algorithm, isLowS, isSupportedAlgorithm, keyFitsAlgorithm, SUPPORTED_ALGORITHMS, verifySignature } from '../../../lib/jwt/algorithms.js';
import { TokenVerifier } from '../../../lib/jwt/token-verifier.js';
import { b64url, signWith, userClaims } from '../../helpers/jwt.js';

// Keys are generated once: RSA key generation is slow.
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
const ed25519 = generateKeyPairSync('ed25519');
const ed448 = generateKeyPairSync('ed448');

const KEYS: Record<Algorithm, { privateKey: KeyObject; publicKey: KeyObject }> = {
  RS256: rsa, RS384: rsa, RS512: rsa, PS256: rsa, PS384: rsa, PS512: rsa, ES256: p256, ES384: p384, ES512: p521, EdDSA: ed25519,
};
const INPUT = `${b64url({ alg: 'x' })}.${b64url({ sub: 'usr_123' })}`;

describe('verifySignature', () => {
  it('verifies a signature made with each supported algorithm, and refuses it once a byte is changed', () => {
    for (const alg of SUPPORTED_ALGORITHMS) {
      const { privateKey, publicKey } = KEYS[alg];
      const signature = signWith(alg, privateKey, INPUT);
      assert.equal(verifySignature(alg, publicKey, INPUT, signature), true, alg);
      assert.equal(verifySignature(alg, publicKey, `${INPUT}x`, signature), false, `${alg}: other input`);
      const tampered = Buffer.from(signature);
      tampered[tampered.length - 1]! ^= 1;
      assert.equal(verifySignature(alg, publicKey, INPUT, tampered), false, `${alg}: tampered`);
    }
    assert.equal(verifySignature('EdDSA', ed448.publicKey, INPUT, sign(null, Buffer.from(INPUT), ed448.privateKey)), true, 'Ed448');
  });

  it('a signature of one RSA algorithm does not pass as another: each has its own digest and padding', () => {
    const rsaAlgs: Algorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    for (const made of rsaAlgs) {
      const signature = signWith(made, rsa.privateKey, INPUT);
      for (const checked of rsaAlgs) {
        assert.equal(verifySignature(checked, rsa.publicKey, INPUT, signature), checked === made, `${made} checked as ${checked}`);
      }
    }
  });

  it('PSS signatures must use a salt as long as the digest (RFC 7518 §3.5)', () => {
    for (const [alg, digest] of [['PS256', 'sha256'], ['PS384', 'sha384'], ['PS512', 'sha512']] as const) {
      const unsalted = sign(digest, Buffer.from(INPUT), { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 0 });
      assert.equal(verifySignature(alg, rsa.publicKey, INPUT, unsalted), false, alg);
    }
  });

  it('refuses an ECDSA signature in DER form, or of the wrong length, before asking OpenSSL', () => {
    for (const [alg, pair, length] of [['ES256', p256, 64], ['ES384', p384, 96], ['ES512', p521, 132]] as const) {
      const der = sign(`sha${alg.slice(2)}`, Buffer.from(INPUT), pair.privateKey);
      assert.equal(verifySignature(alg, pair.publicKey, INPUT, der), false, `${alg} DER`);
      const raw = signWith(alg, pair.privateKey, INPUT);
      assert.equal(raw.length, length);
      assert.equal(verifySignature(alg, pair.publicKey, INPUT, Buffer.concat([raw, Buffer.alloc(1)])), false, `${alg} one byte more`);
      assert.equal(verifySignature(alg, pair.publicKey, INPUT, raw.subarray(1)), false, `${alg} one byte less`);
    }
    // A signature made on another curve does not pass either, whatever its length.
    assert.equal(verifySignature('ES256', p256.publicKey, INPUT, signWith('ES384', p384.privateKey, INPUT)), false);
  });

  it('an empty signature never verifies, whatever the algorithm', () => {
    for (const alg of SUPPORTED_ALGORITHMS) assert.equal(verifySignature(alg, KEYS[alg].publicKey, INPUT, Buffer.alloc(0)), false, alg);
  });
});

describe('the default algorithms, end to end', () => {
  it('a token signed with each algorithm AUTH_ALGORITHMS allows by default verifies under the default configuration', async () => {
    const issuer = 'https://issuer.example/';
    const jwk = (alg: Algorithm) => ({ ...KEYS[alg].publicKey.export({ format: 'jwk' }), kid: `kid-${alg}`, use: 'sig' });
    const config = loadConfig({
      AUTH_ISSUER: issuer,
      AUTH_JWKS_URI: 'https://issuer.example/jwks',
      AUTH_JWKS_SNAPSHOT: JSON.stringify({ keys: SUPPORTED_ALGORITHMS.map(jwk) }),
      AUTH_JWKS_PREFETCH: 'false',
    });
    assert.deepEqual([...config.algorithms], [...SUPPORTED_ALGORITHMS]);
    const verifier = new TokenVerifier(config);
    for (const alg of SUPPORTED_ALGORITHMS) {
      const signingInput = `${b64url({ alg, typ: 'at+jwt', kid: `kid-${alg}` })}.${b64url(userClaims(issuer))}`;
      const token = `${signingInput}.${b64url(signWith(alg, KEYS[alg].privateKey, signingInput))}`;
      const { claims, kid } = await verifier.verify(token);
      assert.equal(kid, `kid-${alg}`, alg);
      assert.equal(claims.subject, 'usr_123', alg);
    }
  });
});

describe('keyFitsAlgorithm', () => {
  it('takes a key of the algorithm\'s type and curve, unless its own alg pins it to another', () => {
    const fits: [Parameters<typeof keyFitsAlgorithm>[0], Algorithm][] = [
      [{ kty: 'RSA' }, 'RS256'], [{ kty: 'RSA' }, 'PS512'], [{ kty: 'RSA', alg: 'RS384' }, 'RS384'],
      [{ kty: 'EC', crv: 'P-256' }, 'ES256'], [{ kty: 'EC', crv: 'P-384' }, 'ES384'], [{ kty: 'EC', crv: 'P-521', alg: 'ES512' }, 'ES512'],
      [{ kty: 'OKP', crv: 'Ed25519' }, 'EdDSA'], [{ kty: 'OKP', crv: 'Ed448' }, 'EdDSA'],
    ];
    for (const [key, alg] of fits) assert.equal(keyFitsAlgorithm(key, alg), true, `${JSON.stringify(key)} ${alg}`);
    const misfits: [Parameters<typeof keyFitsAlgorithm>[0], Algorithm][] = [
      [{ kty: 'EC', crv: 'P-256' }, 'RS256'], [{ kty: 'RSA' }, 'ES256'], [{ kty: 'oct' }, 'RS256'], [{ kty: 'rsa' }, 'RS256'],
      // An RSA key pinned to one RSA algorithm, used with another.
      [{ kty: 'RSA', alg: 'RS256' }, 'PS256'], [{ kty: 'RSA', alg: 'RS256' }, 'RS512'], [{ kty: 'RSA', alg: 'none' }, 'RS256'],
      // The curve must be the algorithm's, and present.
      [{ kty: 'EC', crv: 'P-384' }, 'ES256'], [{ kty: 'EC', crv: 'P-256' }, 'ES512'], [{ kty: 'EC' }, 'ES256'], [{ kty: 'EC', crv: 'secp256k1' }, 'ES256'],
      [{ kty: 'OKP', crv: 'X25519' }, 'EdDSA'], [{ kty: 'OKP' }, 'EdDSA'], [{ kty: 'EC', crv: 'Ed25519' }, 'EdDSA'],
      [{ kty: 'EC', crv: 'P-256', alg: 'ES384' }, 'ES256'],
    ];
    for (const [key, alg] of misfits) assert.equal(keyFitsAlgorithm(key, alg), false, `${JSON.stringify(key)} ${alg}`);
  });
});

describe('isSupportedAlgorithm', () => {
  it('knows the ten asymmetric algorithms, and nothing else', () => {
    assert.deepEqual([...SUPPORTED_ALGORITHMS], ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']);
    for (const alg of SUPPORTED_ALGORITHMS) assert.equal(isSupportedAlgorithm(alg), true, alg);
    for (const value of ['none', 'HS256', 'HS512', 'rs256', 'ES256K', 'Ed25519', 'EdDSA ', '', undefined, null, 256, ['RS256'], { alg: 'RS256' }]) {
      assert.equal(isSupportedAlgorithm(value), false, String(value));
    }
  });
});

describe('isLowS', () => {
  const ORDERS = {
    ES256: BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551'),
    ES384: BigInt('0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973'),
    ES512: BigInt('0x01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409'),
  } as const;
  const withS = (alg: keyof typeof ORDERS, r: Buffer, s: bigint): Buffer => Buffer.concat([r, Buffer.from(s.toString(16).padStart(r.length * 2, '0'), 'hex')]);

  it('of the two spellings s and n − s of one ECDSA signature, which both verify, only the low one is low-S', () => {
    for (const alg of ['ES256', 'ES384', 'ES512'] as const) {
      const { privateKey, publicKey } = KEYS[alg];
      const signature = signWith(alg, privateKey, INPUT);
      const half = signature.length / 2;
      const r = signature.subarray(0, half);
      const s = BigInt(`0x${signature.subarray(half).toString('hex')}`);
      const twin = withS(alg, r, ORDERS[alg] - s);
      assert.equal(verifySignature(alg, publicKey, INPUT, twin), true, `${alg}: the twin verifies too`);
      assert.notEqual(isLowS(alg, signature), isLowS(alg, twin), alg);
      assert.equal(isLowS(alg, s <= ORDERS[alg] / 2n ? signature : twin), true, alg);
    }
  });

  it('the boundary: s = ⌊n/2⌋ is low, ⌊n/2⌋ + 1 is not; a signature of the wrong length is not', () => {
    for (const alg of ['ES256', 'ES384', 'ES512'] as const) {
      const r = Buffer.alloc({ ES256: 32, ES384: 48, ES512: 66 }[alg], 1);
      const half = ORDERS[alg] >> 1n;
      assert.equal(isLowS(alg, withS(alg, r, half)), true, `${alg} half`);
      assert.equal(isLowS(alg, withS(alg, r, half + 1n)), false, `${alg} half + 1`);
      assert.equal(isLowS(alg, withS(alg, r, 1n)), true, `${alg} 1`);
      assert.equal(isLowS(alg, Buffer.concat([withS(alg, r, 1n), Buffer.alloc(1)])), false, `${alg} one byte more`);
      assert.equal(isLowS(alg, withS(alg, r, 1n).subarray(1)), false, `${alg} one byte less`);
    }
  });

  it('is true for every algorithm without malleable signatures', () => {
    for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'] as const) {
      assert.equal(isLowS(alg, Buffer.alloc(256, 0xff)), true, alg);
    }
  });
});
