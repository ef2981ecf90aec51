import assert from 'node:assert/strict';
import { constants, createHmac, createPrivateKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type Environment, loadConfig } from '../../../lib/authorizer/config.js';
import { AuthError, type ReasonCode } from '../../../lib/errors.js';
import { TokenVerifier, type VerifiedToken } from '../../../lib/jwt/token-verifier.js';
import { JwksServer } from '../../helpers/jwks-server.js';
import {
  b64url,
  CALENDAR_AUDIENCE,
  clientClaims,
  GEOCODING_AUDIENCE,
  generateTestKey,
  signJwt,
  signWith,
  type TestKey,
  userClaims,
} from '../../helpers/jwt.js';

// Keys are generated once for the whole file: RSA key generation is slow.
const rsa = generateTestKey('RS256', 'rsa-1');
// The same RSA material published again under other kids, pinned or restricted by the JWK.
const rsaPs256: TestKey = { ...rsa, kid: 'rsa-ps256-pinned', alg: 'PS256', jwk: { ...rsa.jwk, kid: 'rsa-ps256-pinned', alg: 'PS256' } };
const rsaRs512Pinned: TestKey = { ...rsa, kid: 'rsa-rs512-pinned', jwk: { ...rsa.jwk, kid: 'rsa-rs512-pinned', alg: 'RS512' } };
const rsaEnc: TestKey = { ...rsa, kid: 'rsa-enc', jwk: { ...rsa.jwk, kid: 'rsa-enc', use: 'enc' } };
const weakRsa = generateTestKey('RSA1024', 'rsa-1024');
const es256 = generateTestKey('ES256', 'ec-p256');
const es384 = generateTestKey('ES384', 'ec-p384');
const es512 = generateTestKey('ES512', 'ec-p521');
const ed25519 = generateTestKey('EdDSA', 'ed25519');
// A JWK that leaks its private part.
const leaky = generateTestKey('ES256', 'with-private-d');
const leakyJwk = { ...leaky.privateKey.export({ format: 'jwk' }), kid: leaky.kid, use: 'sig' };
// Two different keys published under one kid.
const dupA = generateTestKey('ES256', 'duplicated-kid');
const dupB = generateTestKey('ES256', 'duplicated-kid');
// Ed448 is the other EdDSA curve.
const ed448Pair = generateKeyPairSync('ed448');
const ed448: TestKey = {
  kid: 'ed448', alg: 'EdDSA', ...ed448Pair,
  jwk: { ...ed448Pair.publicKey.export({ format: 'jwk' }), kid: 'ed448', use: 'sig' },
};
// A symmetric key published in the JWKS, and a key whose key_ops forbid verification.
const octSecret = Buffer.from('a shared secret that must never verify anything');
const octJwk = { kty: 'oct', kid: 'oct-key', k: octSecret.toString('base64url') };
const signOnly: TestKey = { ...es256, kid: 'sign-only', jwk: { ...es256.jwk, kid: 'sign-only', key_ops: ['sign'] } };
// Keys that no trusted JWKS publishes.
const attacker = generateTestKey('ES256', 'attacker');
const foreignWithKnownKid = generateTestKey('ES256', es256.kid);
// Issuer B's key, published only by the second server.
const issuerBKey = generateTestKey('ES256', 'issuer-b-only');

const NOW_MS = Date.now();
const NOW_S = Math.floor(NOW_MS / 1000);
const now = (): number => NOW_MS;

const server = new JwksServer();
const serverB = new JwksServer();

before(async () => {
  await server.start();
  await serverB.start();
  server.jwks = {
    keys: [
      rsa.jwk, rsaPs256.jwk, rsaRs512Pinned.jwk, rsaEnc.jwk, weakRsa.jwk,
      es256.jwk, es384.jwk, es512.jwk, ed25519.jwk, ed448.jwk,
      leakyJwk, octJwk, signOnly.jwk, dupA.jwk, dupB.jwk,
    ],
  };
  serverB.jwks = { keys: [issuerBKey.jwk] };
});

after(async () => {
  await server.stop();
  await serverB.stop();
});

function verifier(env: Environment = {}): TokenVerifier {
  // A short fetch deadline bounds every wait on the key server.
  return new TokenVerifier(loadConfig({ AUTH_ISSUER: server.issuer, AUTH_JWKS_URI: server.jwksUri, AUTH_JWKS_TIMEOUT_MS: '1000', ...env }), { now });
}

/** Valid user claims for the main issuer at the fixed clock, with overrides (undefined drops a claim). */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return userClaims(server.issuer, { iat: NOW_S, exp: NOW_S + 3600, ...overrides });
}

function verify(token: string, env: Environment = {}): Promise<VerifiedToken> {
  return verifier(env).verify(token);
}

async function rejectsWith(promise: Promise<unknown>, code: ReasonCode): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AuthError, `expected an AuthError, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
    return true;
  });
}

/** Asserts the promise is refused with `code` and the key server saw no request meanwhile. */
async function rejectsWithoutFetch(promise: Promise<unknown>, code: ReasonCode, jwksServer: JwksServer = server): Promise<void> {
  const before = jwksServer.jwksRequests + jwksServer.discoveryRequests;
  await rejectsWith(promise, code);
  assert.equal(jwksServer.jwksRequests + jwksServer.discoveryRequests, before, 'the key server must not be contacted');
}

/** A compact JWS from raw parts, with a signature chosen by the test. */
function rawToken(header: Record<string, unknown>, payload: Record<string, unknown>, signature: Buffer | string): string {
  const signingInput = `${b64url(header)}.${b64url(payload)}`;
  return `${signingInput}.${typeof signature === 'string' ? signature : b64url(signature)}`;
}

/** Signs a token whose header alg may differ from the key's own algorithm. */
function signAs(key: TestKey, alg: string, payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  return signJwt(key, payload, { alg, ...header });
}

function hs256(secret: Buffer | string, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const signingInput = `${b64url(header)}.${b64url(payload)}`;
  return `${signingInput}.${b64url(createHmac('sha256', secret).update(signingInput).digest())}`;
}

function segments(token: string): [string, string, string] {
  const parts = token.split('.');
  assert.equal(parts.length, 3);
  return parts as [string, string, string];
}

describe('happy paths', () => {
  for (const [name, key] of [
    ['RS256', rsa], ['PS256', rsaPs256], ['ES256', es256], ['ES384', es384], ['ES512', es512], ['EdDSA', ed25519], ['EdDSA (Ed448)', ed448],
  ] as const) {
    test(`${name} user token verifies and its claims come out right`, async () => {
      const { claims: verified, kid } = await verify(signJwt(key, claims()));
      assert.equal(kid, key.kid);
      assert.equal(verified.issuer, server.issuer);
      assert.equal(verified.subject, 'usr_123');
      assert.deepEqual(verified.audiences, [CALENDAR_AUDIENCE]);
      assert.deepEqual(verified.scopes, new Set(['read', 'write']));
      assert.equal(verified.clientId, 'calendar-app');
      assert.equal(verified.tokenUse, 'user');
      assert.equal(verified.expiresAt, NOW_S + 3600);
    });
  }

  test('RSA JWK without alg verifies PS256 as well as RS256', async () => {
    const { kid } = await verify(signAs(rsa, 'PS256', claims()));
    assert.equal(kid, rsa.kid);
  });

  test('client-credentials token with sub == client_id is a client token with no scopes', async () => {
    const token = signJwt(es256, clientClaims(server.issuer, { iat: NOW_S, exp: NOW_S + 60 }));
    const { claims: verified } = await verify(token);
    assert.equal(verified.tokenUse, 'client');
    assert.equal(verified.subject, 'geocoding-backend');
    assert.equal(verified.clientId, 'geocoding-backend');
    assert.deepEqual(verified.audiences, [GEOCODING_AUDIENCE]);
    assert.deepEqual(verified.scopes, new Set());
  });

  test('gty client-credentials marks a client token even when sub differs from client_id', async () => {
    const token = signJwt(es256, claims({ sub: 'geocoder@clients', client_id: 'geocoder', gty: 'client-credentials' }));
    const { claims: verified } = await verify(token);
    assert.equal(verified.tokenUse, 'client');
    assert.equal(verified.subject, 'geocoder@clients');
    assert.equal(verified.clientId, 'geocoder');
  });

  test('azp is the client id when client_id is absent; sub != azp stays a user token', async () => {
    const { claims: verified } = await verify(signJwt(es256, claims({ client_id: undefined, azp: 'spa' })));
    assert.equal(verified.clientId, 'spa');
    assert.equal(verified.tokenUse, 'user');
  });

  test('aud array is kept whole; a wrong audience is not the verifier\'s business', async () => {
    const { claims: verified } = await verify(signJwt(es256, claims({ aud: ['https://other.example/', CALENDAR_AUDIENCE] })));
    assert.deepEqual(verified.audiences, ['https://other.example/', CALENDAR_AUDIENCE]);
    const { claims: wrong } = await verify(signJwt(es256, claims({ aud: 'https://not-ours.example/' })));
    assert.deepEqual(wrong.audiences, ['https://not-ours.example/']);
  });
});

describe('algorithm', () => {
  test('alg none with an empty signature → alg_not_allowed', async () => {
    const token = rawToken({ alg: 'none', typ: 'at+jwt', kid: es256.kid }, claims(), '');
    assert.ok(token.endsWith('.'));
    await rejectsWithoutFetch(verify(token), 'alg_not_allowed');
  });

  test('alg none with a signature → alg_not_allowed', async () => {
    const valid = segments(signJwt(es256, claims()));
    const token = rawToken({ alg: 'none', kid: es256.kid }, claims(), valid[2]);
    await rejectsWithoutFetch(verify(token), 'alg_not_allowed');
  });

  test('alg "None" / "NONE" spelled differently → alg_not_allowed', async () => {
    for (const alg of ['None', 'NONE', 'nOnE']) {
      await rejectsWithoutFetch(verify(rawToken({ alg, kid: es256.kid }, claims(), '')), 'alg_not_allowed');
    }
  });

  test('alg missing or not a string → alg_not_allowed', async () => {
    const signature = b64url(Buffer.alloc(64, 1));
    await rejectsWithoutFetch(verify(rawToken({ kid: es256.kid }, claims(), signature)), 'alg_not_allowed');
    await rejectsWithoutFetch(verify(rawToken({ alg: ['ES256'], kid: es256.kid }, claims(), signature)), 'alg_not_allowed');
    await rejectsWithoutFetch(verify(rawToken({ alg: 256, kid: es256.kid }, claims(), signature)), 'alg_not_allowed');
  });

  test('HS256 with an arbitrary secret → alg_not_allowed', async () => {
    const token = hs256('secret', { alg: 'HS256', typ: 'at+jwt', kid: rsa.kid }, claims());
    await rejectsWithoutFetch(verify(token), 'alg_not_allowed');
  });

  test('HS256 keyed with the RSA public key bytes (key confusion) → alg_not_allowed', async () => {
    const pem = rsa.publicKey.export({ format: 'pem', type: 'spki' });
    const pkcs1 = rsa.publicKey.export({ format: 'pem', type: 'pkcs1' });
    const der = rsa.publicKey.export({ format: 'der', type: 'spki' });
    const jwkJson = JSON.stringify(rsa.jwk);
    for (const secret of [pem, pkcs1, der, jwkJson]) {
      for (const alg of ['HS256', 'HS384', 'HS512']) {
        const token = hs256(secret, { alg, typ: 'at+jwt', kid: rsa.kid }, claims());
        await rejectsWithoutFetch(verify(token), 'alg_not_allowed');
      }
    }
  });

  test('alg supported but not in AUTH_ALGORITHMS → alg_not_allowed; listed alg still passes', async () => {
    const env = { AUTH_ALGORITHMS: 'RS256,EdDSA' };
    await rejectsWithoutFetch(verify(signJwt(es256, claims()), env), 'alg_not_allowed');
    await rejectsWithoutFetch(verify(signAs(rsa, 'PS256', claims()), env), 'alg_not_allowed');
    const { kid } = await verify(signJwt(ed25519, claims()), env);
    assert.equal(kid, ed25519.kid);
  });
});

describe('key selection', () => {
  test('RS256 header with an EC key\'s kid → key_unsuitable', async () => {
    // Signed with the RSA key: only the kid points at the EC key.
    await rejectsWith(verify(signJwt(rsa, claims(), { kid: es256.kid })), 'key_unsuitable');
  });

  test('ES256 header with an RSA kid → key_unsuitable', async () => {
    await rejectsWith(verify(signJwt(es256, claims(), { kid: rsa.kid })), 'key_unsuitable');
  });

  test('ES384 header with a P-256 key → key_unsuitable', async () => {
    await rejectsWith(verify(signJwt(es384, claims(), { kid: es256.kid })), 'key_unsuitable');
    await rejectsWith(verify(signJwt(es512, claims(), { kid: es384.kid })), 'key_unsuitable');
  });

  test('EdDSA header with an EC key, ES256 header with an Ed25519 key → key_unsuitable', async () => {
    await rejectsWith(verify(signJwt(ed25519, claims(), { kid: es256.kid })), 'key_unsuitable');
    await rejectsWith(verify(signJwt(es256, claims(), { kid: ed25519.kid })), 'key_unsuitable');
  });

  test('JWK pinned to alg RS512 used for RS256 → key_unsuitable (RS512 itself is fine)', async () => {
    await rejectsWith(verify(signAs(rsaRs512Pinned, 'RS256', claims())), 'key_unsuitable');
    const { kid } = await verify(signAs(rsaRs512Pinned, 'RS512', claims()));
    assert.equal(kid, rsaRs512Pinned.kid);
  });

  test('JWK pinned to PS256 used for RS256 → key_unsuitable', async () => {
    await rejectsWith(verify(signAs(rsaPs256, 'RS256', claims())), 'key_unsuitable');
  });

  test('JWK with use "enc" → key_unsuitable', async () => {
    await rejectsWith(verify(signJwt(rsaEnc, claims())), 'key_unsuitable');
  });

  test('RSA 1024-bit key in the JWKS → key_unsuitable', async () => {
    await rejectsWith(verify(signJwt(weakRsa, claims())), 'key_unsuitable');
  });

  test('JWK holding the private "d" → key_unsuitable', async () => {
    await rejectsWith(verify(signJwt(leaky, claims())), 'key_unsuitable');
  });

  test('two JWKs with the same kid → key_unsuitable, whichever key signed', async () => {
    await rejectsWith(verify(signJwt(dupA, claims())), 'key_unsuitable');
    await rejectsWith(verify(signJwt(dupB, claims())), 'key_unsuitable');
  });

  test('symmetric (kty oct) JWK → key_unsuitable, for RS256 and for HS256 keyed with its secret', async () => {
    await rejectsWith(verify(signJwt(rsa, claims(), { kid: octJwk.kid })), 'key_unsuitable');
    await rejectsWithoutFetch(verify(hs256(octSecret, { alg: 'HS256', kid: octJwk.kid }, claims())), 'alg_not_allowed');
  });

  test('JWK whose key_ops do not include verify → key_unsuitable', async () => {
    await rejectsWith(verify(signJwt(signOnly, claims())), 'key_unsuitable');
  });

  test('kid absent from the JWKS → kid_unknown', async () => {
    await rejectsWith(verify(signJwt(attacker, claims())), 'kid_unknown');
  });
});

describe('key-bearing and critical headers', () => {
  test('header jwk naming the attacker\'s own key → header_key_rejected, nothing fetched', async () => {
    const token = signJwt(attacker, claims(), { jwk: attacker.jwk });
    await rejectsWithoutFetch(verify(token), 'header_key_rejected');
    // Even with a trusted kid, the embedded key is refused rather than ignored.
    await rejectsWithoutFetch(verify(signJwt(es256, claims(), { jwk: es256.jwk })), 'header_key_rejected');
  });

  test('header jku pointing at the trusted JWKS server → header_key_rejected, never fetched', async () => {
    const before = server.jwksRequests;
    const token = signJwt(attacker, claims(), { jku: server.jwksUri });
    await rejectsWithoutFetch(verify(token), 'header_key_rejected');
    assert.equal(server.jwksRequests, before);
  });

  test('header x5u → header_key_rejected', async () => {
    await rejectsWithoutFetch(verify(signJwt(es256, claims(), { x5u: `${server.issuer}cert.pem` })), 'header_key_rejected');
  });

  test('header x5c → header_key_rejected', async () => {
    const der = attacker.publicKey.export({ format: 'der', type: 'spki' });
    await rejectsWithoutFetch(verify(signJwt(attacker, claims(), { x5c: [der.toString('base64')] })), 'header_key_rejected');
  });

  test('header key parameters with null / empty values are still refused', async () => {
    await rejectsWithoutFetch(verify(signJwt(es256, claims(), { jku: null })), 'header_key_rejected');
    await rejectsWithoutFetch(verify(signJwt(es256, claims(), { x5c: [] })), 'header_key_rejected');
  });

  test('crit present → crit_unsupported', async () => {
    await rejectsWithoutFetch(verify(signJwt(es256, claims(), { crit: ['b64'], b64: false })), 'crit_unsupported');
    await rejectsWithoutFetch(verify(signJwt(es256, claims(), { crit: [] })), 'crit_unsupported');
  });

  test('kid missing, empty or not a string → kid_missing', async () => {
    await rejectsWithoutFetch(verify(signJwt(es256, claims(), { kid: undefined })), 'kid_missing');
    await rejectsWithoutFetch(verify(signJwt(es256, claims(), { kid: '' })), 'kid_missing');
    await rejectsWithoutFetch(verify(signJwt(es256, claims(), { kid: 7 })), 'kid_missing');
  });

  test('AUTH_REQUIRE_AT_JWT: typ JWT or missing → typ_invalid', async () => {
    const env = { AUTH_REQUIRE_AT_JWT: 'true' };
    await rejectsWithoutFetch(verify(signJwt(es256, claims(), { typ: 'JWT' }), env), 'typ_invalid');
    await rejectsWithoutFetch(verify(signJwt(es256, claims(), { typ: undefined }), env), 'typ_invalid');
    await rejectsWithoutFetch(verify(signJwt(es256, claims(), { typ: 'at+jwt+evil' }), env), 'typ_invalid');
  });

  test('AUTH_REQUIRE_AT_JWT: typ at+jwt and application/at+jwt (any case) are accepted', async () => {
    const env = { AUTH_REQUIRE_AT_JWT: 'true' };
    for (const typ of ['at+jwt', 'application/at+jwt', 'AT+JWT', 'Application/At+JWT']) {
      const { kid } = await verify(signJwt(es256, claims(), { typ }), env);
      assert.equal(kid, es256.kid);
    }
  });

  test('without AUTH_REQUIRE_AT_JWT, typ JWT or no typ is accepted', async () => {
    await verify(signJwt(es256, claims(), { typ: 'JWT' }));
    await verify(signJwt(es256, claims(), { typ: undefined }));
  });
});

describe('signature', () => {
  test('payload changed after signing (scope escalated) → signature_invalid', async () => {
    for (const key of [rsa, es256, ed25519]) {
      const [header, , signature] = segments(signJwt(key, claims({ scope: 'read' })));
      const forged = `${header}.${b64url(claims({ scope: 'read write admin' }))}.${signature}`;
      await rejectsWith(verify(forged), 'signature_invalid');
    }
  });

  test('header changed after signing → signature_invalid', async () => {
    const [, payload, signature] = segments(signJwt(es256, claims()));
    const forged = `${b64url({ alg: 'ES256', kid: es256.kid, typ: 'JWT' })}.${payload}.${signature}`;
    await rejectsWith(verify(forged), 'signature_invalid');
  });

  test('foreign key reusing a known kid → signature_invalid', async () => {
    await rejectsWith(verify(signJwt(foreignWithKnownKid, claims())), 'signature_invalid');
  });

  test('truncated signature → signature_invalid', async () => {
    for (const key of [rsa, rsaPs256, es256, ed25519]) {
      const [header, payload, signature] = segments(signJwt(key, claims()));
      const bytes = Buffer.from(signature, 'base64url');
      for (const cut of [bytes.subarray(0, bytes.length - 1), bytes.subarray(0, bytes.length / 2)]) {
        await rejectsWith(verify(`${header}.${payload}.${b64url(cut)}`), 'signature_invalid');
      }
      await rejectsWith(verify(`${header}.${payload}.`), 'signature_invalid');
    }
  });

  test('signature with a byte appended or flipped → signature_invalid', async () => {
    const [header, payload, signature] = segments(signJwt(es256, claims()));
    const bytes = Buffer.from(signature, 'base64url');
    await rejectsWith(verify(`${header}.${payload}.${b64url(Buffer.concat([bytes, Buffer.of(0)]))}`), 'signature_invalid');
    const flipped = Buffer.from(bytes);
    flipped[10] = (flipped[10] ?? 0) ^ 1;
    await rejectsWith(verify(`${header}.${payload}.${b64url(flipped)}`), 'signature_invalid');
  });

  test('PS256 with a salt length other than the digest length → signature_invalid', async () => {
    const header = { alg: 'PS256', typ: 'at+jwt', kid: rsa.kid };
    const signingInput = `${b64url(header)}.${b64url(claims())}`;
    for (const saltLength of [0, 20, constants.RSA_PSS_SALTLEN_MAX_SIGN]) {
      const signature = sign('sha256', Buffer.from(signingInput), { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
      await rejectsWith(verify(`${signingInput}.${b64url(signature)}`), 'signature_invalid');
    }
  });

  test('RS256 header over a PSS signature, PS256 header over a PKCS#1 v1.5 signature → signature_invalid', async () => {
    const [header256, payload256] = segments(signJwt(rsa, claims()));
    const pssSignature = signWith('PS256', rsa.privateKey, `${header256}.${payload256}`);
    await rejectsWith(verify(`${header256}.${payload256}.${b64url(pssSignature)}`), 'signature_invalid');
    const psHeader = b64url({ alg: 'PS256', typ: 'at+jwt', kid: rsa.kid });
    const pkcs1Signature = signWith('RS256', rsa.privateKey, `${psHeader}.${payload256}`);
    await rejectsWith(verify(`${psHeader}.${payload256}.${b64url(pkcs1Signature)}`), 'signature_invalid');
  });

  test('ES256 signature in DER form instead of raw r||s → signature_invalid', async () => {
    const header = { alg: 'ES256', typ: 'at+jwt', kid: es256.kid };
    const payload = claims();
    const signingInput = `${b64url(header)}.${b64url(payload)}`;
    const der = sign('sha256', Buffer.from(signingInput), { key: es256.privateKey, dsaEncoding: 'der' });
    assert.equal(der[0], 0x30, 'a DER SEQUENCE');
    await rejectsWith(verify(`${signingInput}.${b64url(der)}`), 'signature_invalid');
    // The same signature in raw form is fine: only the encoding is wrong.
    await verify(`${signingInput}.${b64url(signWith('ES256', es256.privateKey, signingInput))}`);
  });
});

describe('issuer', () => {
  test('untrusted iss → issuer_mismatch and no JWKS fetch', async () => {
    await rejectsWithoutFetch(verify(signJwt(es256, claims({ iss: 'https://evil.example/' }))), 'issuer_mismatch');
  });

  test('missing or non-string iss → issuer_mismatch', async () => {
    await rejectsWithoutFetch(verify(signJwt(es256, claims({ iss: undefined }))), 'issuer_mismatch');
    await rejectsWithoutFetch(verify(signJwt(es256, claims({ iss: [server.issuer] }))), 'issuer_mismatch');
  });

  test('iss with the trailing slash removed or doubled → issuer_mismatch (no normalisation)', async () => {
    assert.ok(server.issuer.endsWith('/'));
    await rejectsWithoutFetch(verify(signJwt(es256, claims({ iss: server.issuer.slice(0, -1) }))), 'issuer_mismatch');
    await rejectsWithoutFetch(verify(signJwt(es256, claims({ iss: `${server.issuer}/` }))), 'issuer_mismatch');
    await rejectsWithoutFetch(verify(signJwt(es256, claims({ iss: server.issuer.toUpperCase() }))), 'issuer_mismatch');
  });

  test('configured issuer without trailing slash refuses a token whose iss has one', async () => {
    const config = loadConfig({ AUTH_ISSUER: server.issuer.slice(0, -1), AUTH_JWKS_URI: server.jwksUri });
    await rejectsWithoutFetch(new TokenVerifier(config, { now }).verify(signJwt(es256, claims())), 'issuer_mismatch');
  });

  describe('two trusted issuers', () => {
    function twoIssuers(): TokenVerifier {
      return new TokenVerifier(loadConfig({
        AUTH_ISSUER: `${server.issuer},${serverB.issuer}`,
        AUTH_JWKS_URI: `${server.jwksUri},${serverB.jwksUri}`,
        AUTH_JWKS_TIMEOUT_MS: '1000',
      }), { now });
    }

    test('each issuer\'s own keys verify its own tokens', async () => {
      const verifierAB = twoIssuers();
      assert.equal((await verifierAB.verify(signJwt(es256, claims()))).claims.issuer, server.issuer);
      const tokenB = signJwt(issuerBKey, userClaims(serverB.issuer, { iat: NOW_S, exp: NOW_S + 60 }));
      assert.equal((await verifierAB.verify(tokenB)).claims.issuer, serverB.issuer);
    });

    test('token claiming issuer A signed by issuer B\'s key → kid_unknown; B\'s JWKS is never consulted', async () => {
      const beforeB = serverB.jwksRequests;
      const token = signJwt(issuerBKey, claims());
      await rejectsWith(twoIssuers().verify(token), 'kid_unknown');
      assert.equal(serverB.jwksRequests, beforeB);
    });

    test('token claiming issuer B signed with issuer A\'s key → kid_unknown', async () => {
      const beforeA = server.jwksRequests;
      const token = signJwt(es256, userClaims(serverB.issuer, { iat: NOW_S, exp: NOW_S + 60 }));
      await rejectsWith(twoIssuers().verify(token), 'kid_unknown');
      assert.equal(server.jwksRequests, beforeA);
    });
  });
});

describe('audience', () => {
  test('aud missing → audience_missing (not a mismatch: the token names no API at all)', async () => {
    await rejectsWith(verify(signJwt(es256, claims({ aud: undefined }))), 'audience_missing');
  });

  test('aud a number → audience_mismatch', async () => {
    await rejectsWith(verify(signJwt(es256, claims({ aud: 42 }))), 'audience_mismatch');
  });

  test('aud an empty array → audience_mismatch', async () => {
    await rejectsWith(verify(signJwt(es256, claims({ aud: [] }))), 'audience_mismatch');
  });

  test('aud array with a non-string member or null → audience_mismatch', async () => {
    await rejectsWith(verify(signJwt(es256, claims({ aud: [CALENDAR_AUDIENCE, 1] }))), 'audience_mismatch');
    await rejectsWith(verify(signJwt(es256, claims({ aud: null }))), 'audience_mismatch');
  });
});

describe('time claims', () => {
  test('exp 1e308, or anything beyond the longest lifetime a provider issues → claim_invalid; the limit is configurable', async () => {
    await rejectsWith(verify(signJwt(es256, claims({ exp: 1e308 }))), 'claim_invalid');
    await rejectsWith(verify(signJwt(es256, claims({ exp: NOW_S + 2_592_000 + 3600 }))), 'claim_invalid');
    assert.equal((await verify(signJwt(es256, claims({ exp: NOW_S + 2_592_000 })))).kid, es256.kid, 'thirty days (Auth0\'s longest) pass');
    await rejectsWith(verify(signJwt(es256, claims({ exp: NOW_S + 7200 })), { AUTH_MAX_TOKEN_LIFETIME_SECONDS: '3600' }), 'claim_invalid');
    assert.equal((await verify(signJwt(es256, claims({ exp: NOW_S + 3600 })), { AUTH_MAX_TOKEN_LIFETIME_SECONDS: '3600' })).kid, es256.kid);
    // The lifetime runs from iat: a two-hour token is refused under a one-hour cap even near its end.
    await rejectsWith(verify(signJwt(es256, claims({ iat: NOW_S - 6000, exp: NOW_S + 1200 })), { AUTH_MAX_TOKEN_LIFETIME_SECONDS: '3600' }), 'claim_invalid');
  });

  test('exp missing → claim_invalid', async () => {
    await rejectsWith(verify(signJwt(es256, claims({ exp: undefined }))), 'claim_invalid');
  });

  test('exp past, beyond the 5 s tolerance → token_expired', async () => {
    await rejectsWith(verify(signJwt(es256, claims({ iat: NOW_S - 3600, exp: NOW_S - 6 }))), 'token_expired');
    await rejectsWith(verify(signJwt(es256, claims({ iat: NOW_S - 3600, exp: NOW_S - 5 }))), 'token_expired');
  });

  test('exp just inside the tolerance → accepted', async () => {
    const { claims: verified } = await verify(signJwt(es256, claims({ iat: NOW_S - 3600, exp: NOW_S - 4 })));
    assert.equal(verified.expiresAt, NOW_S - 4);
  });

  test('AUTH_CLOCK_TOLERANCE_SECONDS=0: exp == now is expired, exp == now + 1 is not', async () => {
    const env = { AUTH_CLOCK_TOLERANCE_SECONDS: '0' };
    await rejectsWith(verify(signJwt(es256, claims({ exp: NOW_S })), env), 'token_expired');
    await verify(signJwt(es256, claims({ exp: NOW_S + 1 })), env);
  });

  test('exp as a string, null or non-finite → claim_invalid', async () => {
    await rejectsWith(verify(signJwt(es256, claims({ exp: String(NOW_S + 3600) }))), 'claim_invalid');
    await rejectsWith(verify(signJwt(es256, claims({ exp: null }))), 'claim_invalid');
    // JSON has no Infinity; 1e400 parses to it.
    const header = { alg: 'ES256', kid: es256.kid };
    const payloadJson = JSON.stringify(claims({ exp: 0 })).replace('"exp":0', '"exp":1e400');
    const signingInput = `${b64url(header)}.${b64url(payloadJson)}`;
    await rejectsWith(verify(`${signingInput}.${b64url(signWith('ES256', es256.privateKey, signingInput))}`), 'claim_invalid');
  });

  test('nbf in the future (beyond tolerance) → token_not_yet_valid; within tolerance → accepted', async () => {
    await rejectsWith(verify(signJwt(es256, claims({ nbf: NOW_S + 60 }))), 'token_not_yet_valid');
    await rejectsWith(verify(signJwt(es256, claims({ nbf: NOW_S + 6 }))), 'token_not_yet_valid');
    await verify(signJwt(es256, claims({ nbf: NOW_S + 5 })));
  });

  test('nbf as a string → claim_invalid', async () => {
    await rejectsWith(verify(signJwt(es256, claims({ nbf: String(NOW_S) }))), 'claim_invalid');
  });

  test('iat in the future (beyond tolerance) → iat_in_future; within tolerance → accepted', async () => {
    await rejectsWith(verify(signJwt(es256, claims({ iat: NOW_S + 60 }))), 'iat_in_future');
    await rejectsWith(verify(signJwt(es256, claims({ iat: NOW_S + 6 }))), 'iat_in_future');
    await verify(signJwt(es256, claims({ iat: NOW_S + 5 })));
  });
});

describe('token shape', () => {
  test('token longer than AUTH_MAX_TOKEN_BYTES → token_too_large, before anything is fetched', async () => {
    const token = signJwt(es256, claims({ padding: 'x'.repeat(9000) }));
    assert.ok(token.length > 8192);
    await rejectsWithoutFetch(verify(token), 'token_too_large');
    // Not even decoded: garbage of that size is refused for its size.
    await rejectsWithoutFetch(verify('!'.repeat(8193)), 'token_too_large');
  });

  test('AUTH_MAX_TOKEN_BYTES is an inclusive limit', async () => {
    const token = signJwt(es256, claims({ padding: 'x'.repeat(600) }));
    await verify(token, { AUTH_MAX_TOKEN_BYTES: String(token.length) });
    await rejectsWithoutFetch(verify(token, { AUTH_MAX_TOKEN_BYTES: String(token.length - 1) }), 'token_too_large');
  });

  test('non-base64url characters in any segment → token_malformed', async () => {
    const parts = segments(signJwt(es256, claims()));
    for (const index of [0, 1, 2]) {
      for (const bad of ['+', '/', '=', ' ', '*', '%', 'é', '\n']) {
        const broken = [...parts];
        const segment = broken[index] ?? '';
        // Replace a character so the length (and thus the length rule) is unchanged.
        broken[index] = `${segment.slice(0, 4)}${bad}${segment.slice(5)}`;
        await rejectsWithoutFetch(verify(broken.join('.')), 'token_malformed');
      }
    }
  });

  test('standard base64 padding on a segment → token_malformed', async () => {
    const [header, payload, signature] = segments(signJwt(es256, claims()));
    // 64-byte ES256 signature → 86 chars; padded base64 would add "==".
    await rejectsWithoutFetch(verify(`${header}.${payload}.${signature}==`), 'token_malformed');
  });

  test('a segment whose length is 1 mod 4 → token_malformed', async () => {
    const [header, payload, signature] = segments(signJwt(es256, claims()));
    const pad = (segment: string): string => segment + 'A'.repeat((5 - (segment.length % 4)) % 4);
    for (const token of [`${pad(header)}.${payload}.${signature}`, `${header}.${pad(payload)}.${signature}`, `${header}.${payload}.${pad(signature)}`]) {
      assert.ok(token.split('.').some((part) => part.length % 4 === 1));
      await rejectsWithoutFetch(verify(token), 'token_malformed');
    }
  });

  test('2, 4 or 5 segments that are no JWE, or an empty token → token_malformed', async () => {
    const [header, payload, signature] = segments(signJwt(es256, claims()));
    for (const token of ['', `${header}.${payload}`, `${header}.${payload}.${signature}.${signature}`, `${header}.${payload}.${signature}..`, 'a.b!c.d.e.f']) {
      await rejectsWithoutFetch(verify(token), 'token_malformed');
    }
  });

  test('an opaque reference token or a JWE → token_not_jwt, saying which it is', async () => {
    const [header, payload, signature] = segments(signJwt(es256, claims()));
    const jwe = `${b64url({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: es256.kid })}.${signature}.${'A'.repeat(16)}.${payload}.${'B'.repeat(22)}`;
    const dirJwe = `${b64url({ alg: 'dir', enc: 'A256GCM' })}..${'A'.repeat(16)}.${payload}.${'B'.repeat(22)}`;
    for (const [token, what] of [[header, /opaque/], ['2YotnFZFEjr1zCsicMWpAA', /opaque/], ['8xLOxBtZp8+/abc=', /opaque/], [jwe, /JWE/], [dirJwe, /JWE/]] as const) {
      await assert.rejects(verify(token), (error: unknown) => error instanceof AuthError && error.code === 'token_not_jwt' && what.test(error.message), token.slice(0, 20));
    }
  });

  test('empty header or payload segment → token_malformed', async () => {
    const [header, payload, signature] = segments(signJwt(es256, claims()));
    await rejectsWithoutFetch(verify(`.${payload}.${signature}`), 'token_malformed');
    await rejectsWithoutFetch(verify(`${header}..${signature}`), 'token_malformed');
  });

  test('header or payload not JSON → token_malformed', async () => {
    const [header, payload, signature] = segments(signJwt(es256, claims()));
    for (const junk of ['not json', '{"alg":"ES256"', '{alg:ES256}', '\u0000']) {
      await rejectsWithoutFetch(verify(`${b64url(junk)}.${payload}.${signature}`), 'token_malformed');
      await rejectsWithoutFetch(verify(`${header}.${b64url(junk)}.${signature}`), 'token_malformed');
    }
  });

  test('header or payload JSON but not an object (array, number, null, string, boolean) → token_malformed', async () => {
    const [header, payload, signature] = segments(signJwt(es256, claims()));
    for (const json of ['[]', '[{"alg":"ES256"}]', '1', 'null', '"ES256"', 'true']) {
      await rejectsWithoutFetch(verify(`${b64url(json)}.${payload}.${signature}`), 'token_malformed');
      await rejectsWithoutFetch(verify(`${header}.${b64url(json)}.${signature}`), 'token_malformed');
    }
  });
});

describe('one spelling per token', () => {
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  /** The 16 (or 4) strings that decode to the same bytes as `segment`: only the low, unused bits of its last character differ. */
  const spellings = (segment: string): string[] => {
    const spare = segment.length % 4 === 2 ? 15 : segment.length % 4 === 3 ? 3 : 0;
    const base = ALPHABET.indexOf(segment.at(-1)!) & ~spare;
    return Array.from({ length: spare + 1 }, (_, bits) => segment.slice(0, -1) + ALPHABET[base | bits]);
  };

  test('the signature with stray bits in its last character → token_malformed; only the canonical spelling verifies', async () => {
    // RS256 with 2048 bits: 256 bytes, 342 characters, so 4 spare bits and 16 spellings.
    const token = signJwt(rsa, claims());
    const [header, payload, signature] = segments(token);
    const all = spellings(signature);
    assert.equal(all.length, 16);
    assert.ok(all.every((spelling) => Buffer.from(spelling, 'base64url').equals(Buffer.from(signature, 'base64url'))), 'all decode alike');
    const cache = verifier();
    for (const spelling of all) {
      if (spelling === signature) assert.equal((await cache.verify(`${header}.${payload}.${spelling}`)).kid, rsa.kid);
      else await rejectsWithoutFetch(cache.verify(`${header}.${payload}.${spelling}`), 'token_malformed');
    }
  });

  test('a header or payload with stray bits → token_malformed, before any key is fetched', async () => {
    // Lengths 2 or 3 mod 4 leave spare bits; pad the JSON until each segment has some.
    let extra = '';
    let token = signJwt(es256, claims());
    while (segments(token)[1].length % 4 < 2) token = signJwt(es256, claims({ pad: (extra += 'x') }));
    const [header, payload, signature] = segments(token);
    for (const spelling of spellings(payload).filter((item) => item !== payload)) {
      await rejectsWithoutFetch(verify(`${header}.${spelling}.${signature}`), 'token_malformed');
    }
    let headerToken = signJwt(es256, claims(), { x: '' });
    for (let pad = 'y'; segments(headerToken)[0].length % 4 < 2; pad += 'y') headerToken = signJwt(es256, claims(), { x: pad });
    const [head, body, sig] = segments(headerToken);
    for (const spelling of spellings(head).filter((item) => item !== head)) {
      await rejectsWithoutFetch(verify(`${spelling}.${body}.${sig}`), 'token_malformed');
    }
  });

  test('ECDSA n − s: accepted by default (signers do not normalise), refused with AUTH_REQUIRE_LOW_S, whose low-S twin passes', async () => {
    const orders = {
      ES256: BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551'),
      ES384: BigInt('0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973'),
      ES512: BigInt('0x01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409'),
    };
    for (const [key, alg] of [[es256, 'ES256'], [es384, 'ES384'], [es512, 'ES512']] as const) {
      const token = signJwt(key, claims({ jti: alg }));
      const [header, payload, signature] = segments(token);
      const bytes = Buffer.from(signature, 'base64url');
      const half = bytes.length / 2;
      const s = BigInt(`0x${bytes.subarray(half).toString('hex')}`);
      const twin = Buffer.concat([bytes.subarray(0, half), Buffer.from((orders[alg] - s).toString(16).padStart(half * 2, '0'), 'hex')]);
      const twinToken = `${header}.${payload}.${b64url(twin)}`;
      // Both verify: this is what the low-S rule is for.
      assert.equal((await verify(token)).kid, key.kid);
      assert.equal((await verify(twinToken)).kid, key.kid);
      const [low, high] = s <= orders[alg] / 2n ? [token, twinToken] : [twinToken, token];
      assert.equal((await verify(low, { AUTH_REQUIRE_LOW_S: 'true' })).kid, key.kid, alg);
      await rejectsWith(verify(high, { AUTH_REQUIRE_LOW_S: 'true' }), 'signature_invalid');
    }
  });
});

describe('scopes and subject', () => {
  test('scope as an array → claim_invalid', async () => {
    await rejectsWith(verify(signJwt(es256, claims({ scope: ['read'] }))), 'claim_invalid');
  });

  test('scope as a number → claim_invalid', async () => {
    await rejectsWith(verify(signJwt(es256, claims({ scope: 1 }))), 'claim_invalid');
  });

  test('AUTH_SCOPE_CLAIMS=scp,permissions: scp and permissions arrays are merged; scope is ignored', async () => {
    const env = { AUTH_SCOPE_CLAIMS: 'scp,permissions' };
    const token = signJwt(es256, claims({ scope: 'admin', scp: ['read'], permissions: ['write', 'read'] }));
    const { claims: verified } = await verify(token, env);
    assert.deepEqual(verified.scopes, new Set(['read', 'write']));
  });

  test('AUTH_SCOPE_CLAIMS=scp,permissions: scp as a space-separated string is accepted', async () => {
    const { claims: verified } = await verify(signJwt(es256, claims({ scp: 'read  write' })), { AUTH_SCOPE_CLAIMS: 'scp,permissions' });
    assert.deepEqual(verified.scopes, new Set(['read', 'write']));
  });

  test('AUTH_SCOPE_CLAIMS=scp,permissions: permissions as a string → claim_invalid', async () => {
    await rejectsWith(verify(signJwt(es256, claims({ scp: ['read'], permissions: 'write' })), { AUTH_SCOPE_CLAIMS: 'scp,permissions' }), 'claim_invalid');
  });

  test('AUTH_SCOPE_CLAIMS=scp,permissions: non-string array members → claim_invalid', async () => {
    const env = { AUTH_SCOPE_CLAIMS: 'scp,permissions' };
    await rejectsWith(verify(signJwt(es256, claims({ scp: ['read', 1] })), env), 'claim_invalid');
    await rejectsWith(verify(signJwt(es256, claims({ permissions: [null] })), env), 'claim_invalid');
    await rejectsWith(verify(signJwt(es256, claims({ permissions: { read: true } })), env), 'claim_invalid');
  });

  test('scope containing a quote or a backslash → claim_invalid', async () => {
    await rejectsWith(verify(signJwt(es256, claims({ scope: 'read wr"ite' }))), 'claim_invalid');
    await rejectsWith(verify(signJwt(es256, claims({ scope: 'read wr\\ite' }))), 'claim_invalid');
    await rejectsWith(verify(signJwt(es256, claims({ scp: ['re"ad'] })), { AUTH_SCOPE_CLAIMS: 'scp' }), 'claim_invalid');
    await rejectsWith(verify(signJwt(es256, claims({ permissions: ['read\\'] })), { AUTH_SCOPE_CLAIMS: 'permissions' }), 'claim_invalid');
  });

  test('scope with control or non-ASCII characters → claim_invalid', async () => {
    await rejectsWith(verify(signJwt(es256, claims({ scope: 'read\twrite' }))), 'claim_invalid');
    await rejectsWith(verify(signJwt(es256, claims({ scope: 'read wrïte' }))), 'claim_invalid');
  });

  test('sub missing, empty or not a string → claim_invalid', async () => {
    await rejectsWith(verify(signJwt(es256, claims({ sub: undefined }))), 'claim_invalid');
    await rejectsWith(verify(signJwt(es256, claims({ sub: '' }))), 'claim_invalid');
    await rejectsWith(verify(signJwt(es256, claims({ sub: 123 }))), 'claim_invalid');
  });

  test('client_id not a string → claim_invalid', async () => {
    await rejectsWith(verify(signJwt(es256, claims({ client_id: 5 }))), 'claim_invalid');
  });
});

describe('OpenID discovery', () => {
  test('with AUTH_JWKS_URI unset the JWKS is found through discovery, fetched once for many tokens', async () => {
    let clock = NOW_MS;
    const discovering = new TokenVerifier(loadConfig({ AUTH_ISSUER: server.issuer, AUTH_JWKS_TIMEOUT_MS: '1000' }), { now: () => clock });
    const discoveryBefore = server.discoveryRequests;
    const jwksBefore = server.jwksRequests;
    const tokens = Array.from({ length: 20 }, (_, index) => signJwt(index % 2 === 0 ? es256 : ed25519, claims({ jti: randomUUID() })));
    const concurrent = await Promise.all(tokens.map((token) => discovering.verify(token)));
    assert.equal(concurrent.length, 20);
    for (const token of tokens) await discovering.verify(token);
    assert.equal(server.discoveryRequests - discoveryBefore, 1);
    assert.equal(server.jwksRequests - jwksBefore, 1);

    // A later refetch (unknown kid after the cooldown) reuses the discovered jwks_uri.
    clock += 30_000;
    await rejectsWith(discovering.verify(signJwt(attacker, claims())), 'kid_unknown');
    assert.equal(server.jwksRequests - jwksBefore, 2);
    assert.equal(server.discoveryRequests - discoveryBefore, 1);
  });

  test('discovery of an issuer the token does not claim never happens', async () => {
    const discovering = new TokenVerifier(loadConfig({ AUTH_ISSUER: server.issuer, AUTH_JWKS_TIMEOUT_MS: '1000' }), { now });
    await rejectsWithoutFetch(discovering.verify(signJwt(es256, claims({ iss: 'https://evil.example/' }))), 'issuer_mismatch');
  });
});

// Keep the private JWK genuinely private: importing it must give a private key, proving the test JWK carries "d".
test('sanity: the leaky JWK really contains private key material', () => {
  assert.equal(typeof leakyJwk.d, 'string');
  assert.equal(createPrivateKey({ key: leakyJwk, format: 'jwk' }).type, 'private');
});
