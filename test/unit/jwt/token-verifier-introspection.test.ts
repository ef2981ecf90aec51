import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { loadConfig } from '../../../lib/authorizer/config.js';
import { AuthError, type ReasonCode } from '../../../lib/errors.js';
import type { TokenClaims } from '../../../lib/jwt/claims.js';
import { issuerProfile } from '../../../lib/jwt/issuer-profile.js';
import { type TokenIntrospection, TokenVerifier, type TrustedIssuer, type Verification } from '../../../lib/jwt/token-verifier.js';
import { JwksServer } from '../../helpers/jwks-server.js';
import { b64url, generateTestKey, jwks, signJwt, userClaims } from '../../helpers/jwt.js';

const key = generateTestKey('ES256', 'routing-key');
const NOW_MS = Date.now();
const NOW_S = Math.floor(NOW_MS / 1000);
const now = (): number => NOW_MS;

const OPAQUE_ISSUER = 'https://opaque.example/';
const AUTH0_ISSUER = 'https://tenant.eu.auth0.com/';
const OPAQUE_TOKEN = 'ory_at_4f1c9b2e7d3a8f60c5b1e9d2a7f3c8b4';
// A compact JWE (RFC 7516): protected header, encrypted key, IV, ciphertext, tag.
const JWE = `${b64url({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'enc-1' })}.${b64url('encrypted-key')}.${b64url('iv-iv-iv-iv')}.${b64url('ciphertext')}.${b64url('tag-tag-tag-tag')}`;

const server = new JwksServer();
before(async () => {
  await server.start();
  server.jwks = jwks(key);
});
after(() => server.stop());

/** An introspection that answers every check with an active verification, and records who was asked what. */
class FakeIntrospection implements TokenIntrospection {
  readonly checks: { issuer: string; token: string }[] = [];
  refusal: AuthError | undefined;

  check(issuer: string, token: string): Verification | Promise<Verification> {
    this.checks.push({ issuer, token });
    if (this.refusal !== undefined) throw this.refusal;
    const claims: TokenClaims = {
      issuer, subject: 'usr_123', audiences: ['https://api.example.com/calendar/v1/'], expiresAt: NOW_S + 600, clientId: 'calendar-app', scopes: new Set(['read']), tokenUse: 'user',
    };
    return Promise.resolve({ verified: { claims, kid: undefined }, cached: false });
  }
}

let introspection: FakeIntrospection;
beforeEach(() => {
  introspection = new FakeIntrospection();
});

/** `null`: no introspection dependency at all. */
function verifier(issuers: TrustedIssuer[], withIntrospection: TokenIntrospection | null = introspection): TokenVerifier {
  const base = loadConfig({ AUTH_ISSUER: server.issuer, AUTH_JWKS_URI: server.jwksUri, AUTH_JWKS_TIMEOUT_MS: '1000' });
  return new TokenVerifier({ ...base, issuers }, { now, introspection: withIntrospection ?? undefined });
}

const signed = (issuer: string, overrides: Record<string, unknown> = {}): string => signJwt(key, userClaims(issuer, { iat: NOW_S, exp: NOW_S + 3600, ...overrides }));
const jwtIssuer = (overrides: Partial<TrustedIssuer> = {}): TrustedIssuer => ({ issuer: server.issuer, jwksUri: server.jwksUri, ...overrides });

async function rejectsWith(promise: Promise<unknown>, code: ReasonCode, message?: RegExp): Promise<AuthError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof AuthError, `expected an AuthError, got ${String(caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  if (message !== undefined) assert.match(caught.message, message);
  return caught;
}

describe('TokenVerifier: routing to introspection', () => {
  it('an opaque token goes to the issuer that introspects opaque tokens', async () => {
    const subject = verifier([jwtIssuer(), { issuer: OPAQUE_ISSUER, jwksUri: undefined, introspect: 'opaque' }]);
    const fetches = server.jwksRequests + server.discoveryRequests;
    const verified = await subject.verify(OPAQUE_TOKEN);
    assert.deepEqual(introspection.checks, [{ issuer: OPAQUE_ISSUER, token: OPAQUE_TOKEN }]);
    assert.equal(verified.claims.issuer, OPAQUE_ISSUER);
    assert.equal(verified.kid, undefined);
    assert.equal(server.jwksRequests + server.discoveryRequests, fetches, 'no key fetched');
  });

  it('a JWE (5 segments) goes to introspection when an issuer introspects', async () => {
    const subject = verifier([jwtIssuer({ introspect: 'opaque' })]);
    await subject.verify(JWE);
    assert.deepEqual(introspection.checks, [{ issuer: server.issuer, token: JWE }]);
  });

  it('JWS-shaped garbage (three segments that do not decode) is token_malformed, and the issuer is not asked', async () => {
    const subject = verifier([jwtIssuer({ introspect: 'opaque' })]);
    await rejectsWith(subject.verify('not.a.jwt'), 'token_malformed');
    await rejectsWith(subject.verify(`${b64url({ alg: 'RS256' })}.bm90IGpzb24.c2ln`), 'token_malformed');
    assert.deepEqual(introspection.checks, []);
  });

  it('with "opaque", the issuer\'s own JWTs are still verified by signature', async () => {
    const subject = verifier([jwtIssuer({ introspect: 'opaque' })]);
    const verified = await subject.verify(signed(server.issuer));
    assert.equal(verified.kid, key.kid);
    assert.equal(introspection.checks.length, 0);
  });

  it('with "all", a JWS whose iss is that issuer goes to introspection, signature unchecked here', async () => {
    const other = 'https://other.example/';
    const subject = verifier([jwtIssuer(), { issuer: other, jwksUri: undefined, introspect: 'all' }]);
    const fetches = server.jwksRequests + server.discoveryRequests;
    // Signed by a key no JWKS publishes: the issuer answers for it, not the signature.
    const token = signJwt(generateTestKey('ES256', 'not-published'), userClaims(other, { iat: NOW_S, exp: NOW_S + 3600 }));
    await subject.verify(token);
    assert.deepEqual(introspection.checks, [{ issuer: other, token }]);
    assert.equal(server.jwksRequests + server.discoveryRequests, fetches, 'no key fetched');
  });

  it('with "all", a JWS of another trusted issuer takes the signature path', async () => {
    const subject = verifier([jwtIssuer(), { issuer: OPAQUE_ISSUER, jwksUri: undefined, introspect: 'all' }]);
    const verified = await subject.verify(signed(server.issuer));
    assert.equal(verified.kid, key.kid);
    assert.equal(introspection.checks.length, 0);
  });

  it('with "all", a JWS of an untrusted issuer is refused without introspection', async () => {
    const subject = verifier([jwtIssuer(), { issuer: OPAQUE_ISSUER, jwksUri: undefined, introspect: 'all' }]);
    await rejectsWith(subject.verify(signed('https://evil.example/')), 'issuer_mismatch');
    assert.equal(introspection.checks.length, 0);
  });

  it('the introspection\'s refusal is the verifier\'s, thrown at once when it is synchronous', async () => {
    introspection.refusal = new AuthError('token_inactive', 'the issuer says the token is not active');
    const subject = verifier([jwtIssuer({ introspect: 'opaque' })]);
    assert.throws(() => subject.verifyNow(OPAQUE_TOKEN), (error: unknown) => error instanceof AuthError && error.code === 'token_inactive');
    await rejectsWith(subject.verify(OPAQUE_TOKEN), 'token_inactive');
  });

  it('an oversized token is refused before introspection', async () => {
    const subject = verifier([jwtIssuer({ introspect: 'opaque' })]);
    await rejectsWith(subject.verify('x'.repeat(10_000)), 'token_too_large');
    assert.equal(introspection.checks.length, 0);
  });
});

describe('TokenVerifier: no introspection', () => {
  it('an opaque token is token_not_jwt, with the hint to configure introspection', async () => {
    const subject = verifier([jwtIssuer()], null);
    await rejectsWith(subject.verify(OPAQUE_TOKEN), 'token_not_jwt', /opaque.*AUTH_INTROSPECTION=opaque/);
  });

  it('with an auth0 issuer configured, the hint says how to get a JWT from Auth0', async () => {
    const subject = verifier([jwtIssuer(), { issuer: AUTH0_ISSUER, jwksUri: undefined, profile: issuerProfile('auth0') }], null);
    const error = await rejectsWith(subject.verify('sTmDl2pQq9wXbYcZ0aF3eR7t'), 'token_not_jwt', /Auth0.*\/userinfo.*audience=/);
    assert.doesNotMatch(error.message, /AUTH_INTROSPECTION=opaque/);
  });

  it('a JWE is token_not_jwt too, with the hint', async () => {
    const subject = verifier([jwtIssuer()], null);
    await rejectsWith(subject.verify(JWE), 'token_not_jwt', /JWE.*AUTH_INTROSPECTION=opaque/);
  });

  it('a malformed token stays token_malformed', async () => {
    const subject = verifier([jwtIssuer()], null);
    await rejectsWith(subject.verify('a.b'), 'token_malformed');
  });
});

describe('TokenVerifier: construction with introspection', () => {
  it('refuses two issuers that introspect opaque tokens', () => {
    assert.throws(
      () => verifier([jwtIssuer({ introspect: 'opaque' }), { issuer: OPAQUE_ISSUER, jwksUri: undefined, introspect: 'all' }]),
      /several issuers introspect opaque tokens .*opaque token does not say whose it is/,
    );
  });

  it('refuses an introspecting issuer without an introspection to ask', () => {
    assert.throws(() => verifier([jwtIssuer({ introspect: 'opaque' })], null), new RegExp(`${server.issuer.replace(/[.]/g, '\\.')} introspects tokens, but no introspection was given`));
  });

  it('takes the configuration loadConfig gives', async () => {
    const config = loadConfig({
      AUTH_ISSUER: server.issuer, AUTH_JWKS_URI: server.jwksUri, AUTH_INTROSPECTION: 'opaque', AUTH_INTROSPECTION_CLIENT_ID: 'gate', AUTH_INTROSPECTION_CLIENT_SECRET: 'secret',
    });
    const subject = new TokenVerifier(config, { now, introspection });
    await subject.verify(OPAQUE_TOKEN);
    assert.deepEqual(introspection.checks, [{ issuer: server.issuer, token: OPAQUE_TOKEN }]);
  });
});

describe('TokenVerifier: sender-constrained JWTs', () => {
  it('cnf.jkt (DPoP) gives the key the token is bound to; a malformed jkt or a second member is claim_invalid', async () => {
    const subject = verifier([jwtIssuer()], null);
    const jkt = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I';
    assert.equal((await subject.verify(signed(server.issuer, { cnf: { jkt } }))).claims.boundKey, jkt);
    await rejectsWith(subject.verify(signed(server.issuer, { cnf: { jkt: 'short' } })), 'claim_invalid');
    await rejectsWith(subject.verify(signed(server.issuer, { cnf: { jkt, 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' } })), 'claim_invalid');
    await rejectsWith(subject.verify(signed(server.issuer, { cnf: 'jkt' })), 'claim_invalid');
  });

  it('another confirmation method (mTLS, x5t#S256) is claim_invalid', async () => {
    const subject = verifier([jwtIssuer()], null);
    await rejectsWith(subject.verify(signed(server.issuer, { cnf: { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' } })), 'claim_invalid', /x5t#S256/);
  });

  it('the same token without cnf is accepted, bound to no key', async () => {
    const subject = verifier([jwtIssuer()], null);
    const verified = await subject.verify(signed(server.issuer));
    assert.equal(verified.claims.subject, 'usr_123');
    assert.equal(verified.claims.boundKey, undefined);
  });
});
