import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthError, type ReasonCode } from '../../../lib/errors.js';
import { type ClaimRules, validateClaims } from '../../../lib/jwt/claims.js';
import { issuerProfile, type ProfileName } from '../../../lib/jwt/issuer-profile.js';

const ISSUER = 'https://issuer.example/';
const NOW = 1_900_000_000;
const TOLERANCE = 5;
const MAX_LIFETIME = 86400;

const rules = (profile: ProfileName = 'rfc9068', overrides: Partial<ClaimRules> = {}): ClaimRules => ({
  issuer: ISSUER, now: NOW, clockToleranceSeconds: TOLERANCE, maxLifetimeSeconds: MAX_LIFETIME, profile: issuerProfile(profile), ...overrides,
});
/** A valid user access token's payload; `undefined` drops a claim. */
const payload = (overrides: Record<string, unknown> = {}): Record<string, unknown> => {
  const base: Record<string, unknown> = {
    iss: ISSUER, sub: 'usr_123', aud: 'https://api.example.com/calendar/v1/', client_id: 'calendar-app', scope: 'read write', iat: NOW - 60, exp: NOW + 3600, ...overrides,
  };
  for (const [key, value] of Object.entries(base)) if (value === undefined) delete base[key];
  return base;
};
const refusedWith = (code: ReasonCode, message?: RegExp) => (error: unknown) =>
  error instanceof AuthError && error.code === code && (message === undefined || message.test(error.message));

describe('validateClaims: the issuer', () => {
  it('takes only the exact configured iss, byte for byte', () => {
    assert.equal(validateClaims(payload(), rules()).issuer, ISSUER);
    for (const iss of ['https://issuer.example', 'https://ISSUER.example/', 'https://issuer.example/ ', 'https://issuer.example//', 'http://issuer.example/', '', undefined, null, ['https://issuer.example/'], 42]) {
      assert.throws(() => validateClaims(payload({ iss }), rules()), refusedWith('issuer_mismatch'), JSON.stringify(iss));
    }
  });

  it('checks the issuer before anything else: a foreign token with broken claims is an issuer mismatch', () => {
    assert.throws(() => validateClaims(payload({ iss: 'https://evil.example/', exp: 'never', sub: undefined, aud: undefined }), rules()), refusedWith('issuer_mismatch'));
  });
});

describe('validateClaims: time', () => {
  it('exp: required, a finite number, and not past (within the tolerance)', () => {
    assert.throws(() => validateClaims(payload({ exp: undefined }), rules()), refusedWith('claim_invalid', /"exp" is required/));
    // 1e309 is valid JSON and parses to Infinity.
    for (const exp of ['2000000000', JSON.parse('1e309') as number, -JSON.parse('1e309'), null, [NOW + 60], true]) {
      assert.throws(() => validateClaims(payload({ exp }), rules()), refusedWith('claim_invalid', /"exp" is not a NumericDate/), String(exp));
    }
    // The boundary: expired once now - tolerance reaches exp.
    assert.equal(validateClaims(payload({ exp: NOW - TOLERANCE + 1 }), rules()).expiresAt, NOW - TOLERANCE + 1);
    assert.equal(validateClaims(payload({ exp: NOW - TOLERANCE + 0.5 }), rules()).expiresAt, NOW - TOLERANCE + 0.5);
    assert.throws(() => validateClaims(payload({ exp: NOW - TOLERANCE }), rules()), refusedWith('token_expired'));
    assert.throws(() => validateClaims(payload({ exp: 0 }), rules()), refusedWith('token_expired'));
    assert.throws(() => validateClaims(payload({ exp: NOW }), rules('rfc9068', { clockToleranceSeconds: 0 })), refusedWith('token_expired'));
  });

  it('exp: no further than the maximum lifetime (plus the tolerance) from iat, or from now without iat', () => {
    assert.equal(validateClaims(payload({ iat: undefined, exp: NOW + MAX_LIFETIME + TOLERANCE }), rules()).expiresAt, NOW + MAX_LIFETIME + TOLERANCE);
    for (const exp of [NOW + MAX_LIFETIME + TOLERANCE + 1, NOW + MAX_LIFETIME + TOLERANCE + 0.001, 1e308, Number.MAX_SAFE_INTEGER]) {
      assert.throws(() => validateClaims(payload({ iat: undefined, exp }), rules()), refusedWith('claim_invalid', /"exp" is more than 86400 s after now/), String(exp));
    }
    // From iat: a token minted long ago with a long life is refused even near its end.
    assert.equal(validateClaims(payload({ iat: NOW - 60, exp: NOW - 60 + MAX_LIFETIME + TOLERANCE }), rules()).expiresAt, NOW - 60 + MAX_LIFETIME + TOLERANCE);
    assert.throws(() => validateClaims(payload({ iat: NOW - MAX_LIFETIME, exp: NOW + 60 + TOLERANCE }), rules()), refusedWith('claim_invalid', /"exp" is more than 86400 s after "iat"/));
  });

  it('nbf and iat: optional, finite numbers, and not in the future (within the tolerance)', () => {
    for (const claim of ['nbf', 'iat'] as const) {
      const code: ReasonCode = claim === 'nbf' ? 'token_not_yet_valid' : 'iat_in_future';
      assert.doesNotThrow(() => validateClaims(payload({ [claim]: undefined }), rules()), claim);
      assert.doesNotThrow(() => validateClaims(payload({ [claim]: NOW + TOLERANCE }), rules()), claim);
      assert.doesNotThrow(() => validateClaims(payload({ [claim]: NOW - 3600 }), rules()), claim);
      assert.throws(() => validateClaims(payload({ [claim]: NOW + TOLERANCE + 1 }), rules()), refusedWith(code), claim);
      assert.throws(() => validateClaims(payload({ [claim]: NOW + TOLERANCE + 0.5 }), rules()), refusedWith(code), claim);
      assert.throws(() => validateClaims(payload({ [claim]: NOW + 1 }), rules('rfc9068', { clockToleranceSeconds: 0 })), refusedWith(code), claim);
      for (const value of [String(NOW), null, JSON.parse('1e309') as number, {}]) {
        assert.throws(() => validateClaims(payload({ [claim]: value }), rules()), refusedWith('claim_invalid', new RegExp(`"${claim}" is not a NumericDate`)), `${claim} ${String(value)}`);
      }
    }
  });
});

describe('validateClaims: who the token is and who it is for', () => {
  it('sub: required, a non-empty string', () => {
    for (const sub of [undefined, '', 42, null, ['usr_123']]) {
      assert.throws(() => validateClaims(payload({ sub }), rules()), refusedWith('claim_invalid', /"sub"/), JSON.stringify(sub));
    }
  });

  it('the client is the first of the profile\'s client claims present; a present one must be a non-empty string', () => {
    assert.equal(validateClaims(payload(), rules()).clientId, 'calendar-app');
    assert.equal(validateClaims(payload({ client_id: undefined, azp: 'spa' }), rules()).clientId, 'spa');
    assert.equal(validateClaims(payload({ client_id: 'first', azp: 'second' }), rules()).clientId, 'first');
    assert.equal(validateClaims(payload({ client_id: undefined }), rules()).clientId, undefined);
    for (const clientId of ['', 42, ['calendar-app']]) {
      assert.throws(() => validateClaims(payload({ client_id: clientId }), rules()), refusedWith('claim_invalid', /"client_id" is not a non-empty string/), JSON.stringify(clientId));
    }
  });

  it('the profile decides the kind: an ID token is refused as such, a payload breaking its rules as claim_invalid', () => {
    assert.equal(validateClaims(payload(), rules()).tokenUse, 'user');
    assert.equal(validateClaims(payload({ sub: 'calendar-app' }), rules()).tokenUse, 'client');
    assert.equal(validateClaims(payload({ client_id: undefined }), rules()).tokenUse, 'unknown');
    assert.throws(() => validateClaims(payload({ nonce: 'n-0S6_WzA2Mj' }), rules()), refusedWith('id_token_presented', /an ID token, not an access token: it carries "nonce"/));
    assert.throws(() => validateClaims(payload({ token_use: 'refresh', client_id: 'c1' }), rules('cognito')), refusedWith('claim_invalid', /"token_use" is "refresh"/));
  });

  it('aud: required, a string or a non-empty array of strings, kept whole', () => {
    assert.deepEqual(validateClaims(payload(), rules()).audiences, ['https://api.example.com/calendar/v1/']);
    assert.deepEqual(validateClaims(payload({ aud: ['a', 'b'] }), rules()).audiences, ['a', 'b']);
    assert.throws(() => validateClaims(payload({ aud: undefined }), rules()), refusedWith('audience_missing', /"aud" is missing/));
    for (const aud of [[], [42], ['a', null], 42, null, { aud: 'a' }, true]) {
      assert.throws(() => validateClaims(payload({ aud }), rules()), refusedWith('audience_mismatch', /"aud" is not a string or a non-empty array of strings/), JSON.stringify(aud));
    }
    // An empty string is a string: which API it names is the route table's question (none does).
    assert.deepEqual(validateClaims(payload({ aud: '' }), rules()).audiences, ['']);
  });

  it('Cognito: client_id stands in for a missing aud, and is then the audience the route table matches', () => {
    const cognito = payload({ aud: undefined, token_use: 'access', client_id: '1example23456789', username: 'alice' });
    const claims = validateClaims(cognito, rules('cognito'));
    assert.deepEqual(claims.audiences, []);
    assert.equal(claims.clientAudience, '1example23456789');
    assert.throws(() => validateClaims({ ...cognito, client_id: undefined }, rules('cognito')), refusedWith('audience_missing', /neither "aud" nor "client_id"/));
    // With an aud, Cognito's is read like any other; other profiles never let client_id stand in.
    assert.deepEqual(validateClaims({ ...cognito, aud: 'x' }, rules('cognito')).audiences, ['x']);
    assert.equal(validateClaims(payload(), rules()).clientAudience, undefined);
    assert.throws(() => validateClaims(payload({ aud: undefined }), rules('rfc9068')), refusedWith('audience_missing'));
  });

  it('returns what the rest of the authorizer reads: scopes under the profile\'s claims, the checked issuer and exp', () => {
    const claims = validateClaims(payload({ permissions: ['events:delete'] }), rules('auth0'));
    assert.deepEqual(claims.scopes, new Set(['read', 'write', 'events:delete']));
    assert.deepEqual([claims.issuer, claims.subject, claims.expiresAt], [ISSUER, 'usr_123', NOW + 3600]);
    assert.deepEqual(validateClaims(payload({ permissions: ['events:delete'] }), rules('rfc9068')).scopes, new Set(['read', 'write']));
    assert.throws(() => validateClaims(payload({ scope: ['read'] }), rules()), refusedWith('claim_invalid', /"scope" is not a string/));
  });
});

describe('validateClaims: what each refusal says, and the token id', () => {
  it('names the claim at fault in every time and issuer refusal', () => {
    const cases: [Record<string, unknown>, ReasonCode, string][] = [
      [payload({ iss: 'https://evil.example/' }), 'issuer_mismatch', '"iss" is not the issuer whose key signed the token'],
      [payload({ exp: NOW - TOLERANCE - 1 }), 'token_expired', 'the token has expired'],
      [payload({ nbf: NOW + TOLERANCE + 1 }), 'token_not_yet_valid', '"nbf" is in the future'],
      [payload({ iat: NOW + TOLERANCE + 1 }), 'iat_in_future', '"iat" is in the future'],
    ];
    for (const [claims, code, message] of cases) {
      assert.throws(() => validateClaims(claims, rules()), (error: unknown) => error instanceof AuthError && error.code === code && error.message === message, message);
    }
  });

  it('carries jti as the token id that a revocation names, and none when the token has none', () => {
    assert.equal(validateClaims(payload({ jti: 'tok-7f3a' }), rules()).tokenId, 'tok-7f3a');
    assert.equal(validateClaims(payload(), rules()).tokenId, undefined);
    assert.throws(() => validateClaims(payload({ jti: '' }), rules()), refusedWith('claim_invalid', /"jti" is not a non-empty string/));
  });
});

describe('validateClaims: sender-constrained tokens (cnf)', () => {
  const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';

  it('a DPoP-bound token carries its key thumbprint; a bearer token none', () => {
    assert.equal(validateClaims(payload({ cnf: { jkt: JKT } }), rules()).boundKey, JKT);
    assert.equal(validateClaims(payload(), rules()).boundKey, undefined);
  });

  it('refuses a binding it cannot check rather than treating the token as a bearer token', () => {
    const cases: [unknown, RegExp][] = [
      // mTLS (RFC 8705): the certificate is not visible to a Lambda authorizer.
      [{ 'x5t#S256': JKT }, /\("cnf" with "x5t#S256"\) in a way this authorizer cannot check/],
      [{ jkt: JKT, 'x5t#S256': JKT }, /\("cnf" with "jkt", "x5t#S256"\)/],
      [{}, /\("cnf" with \{\}\)/],
      ['bound', /\("cnf" with "bound"\)/],
      [null, /\("cnf" with null\)/],
      [[JKT], /\("cnf" with \["NzbL/],
      [{ jkt: JKT.slice(1) }, /\("cnf" with "jkt"\)/],
      [{ jkt: `${JKT}A` }, /\("cnf" with "jkt"\)/],
      [{ jkt: `${JKT.slice(1)}+` }, /\("cnf" with "jkt"\)/],
      [{ jkt: ` ${JKT}` }, /\("cnf" with "jkt"\)/],
      [{ jkt: 42 }, /\("cnf" with "jkt"\)/],
      // The thumbprint wrapped in an array reads as the same string, but is no thumbprint.
      [{ jkt: [JKT] }, /\("cnf" with "jkt"\)/],
    ];
    for (const [cnf, message] of cases) {
      assert.throws(() => validateClaims(payload({ cnf }), rules()), refusedWith('claim_invalid', message), JSON.stringify(cnf));
    }
  });
});
