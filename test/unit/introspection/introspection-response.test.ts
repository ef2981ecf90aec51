import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthError, type ReasonCode } from '../../../lib/errors.js';
import { claimsFromIntrospection, introspectionProfile } from '../../../lib/introspection/introspection-response.js';
import { opaqueTokenId } from '../../../lib/introspection/opaque-token-id.js';
import type { ClaimRules } from '../../../lib/jwt/claims.js';
import { issuerProfile, type ProfileName } from '../../../lib/jwt/issuer-profile.js';

const ISSUER = 'https://issuer.example/';
const NOW = 1_900_000_000;
const MAX_LIFETIME = 86_400;
const TOKEN = 'Zx3lB9S2pQm_opaque-access-token-value';
const AUDIENCE = 'https://api.example.com/calendar/v1/';

const rules = (profile: ProfileName = 'rfc9068', issuer = ISSUER): ClaimRules => ({
  issuer, now: NOW, clockToleranceSeconds: 5, maxLifetimeSeconds: MAX_LIFETIME, profile: introspectionProfile(issuerProfile(profile)),
});

/** oidc-provider's answer for an opaque access token with a resource indicator (no jti: it is the token). */
const oidcProviderAccess = (overrides: Record<string, unknown> = {}): Record<string, unknown> => {
  const base: Record<string, unknown> = {
    active: true, client_id: 'calendar-app', exp: NOW + 3600, iat: NOW - 60, iss: ISSUER, scope: 'read write', sub: 'usr_123', token_type: 'Bearer', aud: AUDIENCE, ...overrides,
  };
  for (const [key, value] of Object.entries(base)) if (value === undefined) delete base[key];
  return base;
};

const refusedWith = (code: ReasonCode, message?: RegExp) => (error: unknown) => {
  assert.ok(error instanceof AuthError, `expected an AuthError, got ${String(error)}`);
  assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
  if (message !== undefined) assert.match(error.message, message);
  return true;
};

describe('claimsFromIntrospection: the RFC 7662 envelope', () => {
  it('an active answer grants its claims', () => {
    const claims = claimsFromIntrospection(oidcProviderAccess(), TOKEN, rules());
    assert.equal(claims.issuer, ISSUER);
    assert.equal(claims.subject, 'usr_123');
    assert.deepEqual(claims.audiences, [AUDIENCE]);
    assert.equal(claims.expiresAt, NOW + 3600);
    assert.equal(claims.issuedAt, NOW - 60);
    assert.equal(claims.clientId, 'calendar-app');
    assert.deepEqual([...claims.scopes], ['read', 'write']);
    assert.equal(claims.tokenUse, 'user');
  });

  it('active: false is token_inactive, whatever else the answer says', () => {
    assert.throws(() => claimsFromIntrospection({ active: false }, TOKEN, rules()), refusedWith('token_inactive'));
    assert.throws(() => claimsFromIntrospection({ active: false, iss: 'https://other.example/', exp: 1 }, TOKEN, rules()), refusedWith('token_inactive'));
  });

  it('an answer without a boolean "active" is not a verdict: introspection_unavailable', () => {
    for (const active of [undefined, 'true', 'false', 1, 0, null]) {
      assert.throws(() => claimsFromIntrospection(oidcProviderAccess({ active }), TOKEN, rules()), refusedWith('introspection_unavailable', /active/), JSON.stringify(active));
    }
  });

  it('a response that is not a JSON object is introspection_unavailable', () => {
    for (const response of [null, [], [oidcProviderAccess()], 'active', 42, true, undefined]) {
      assert.throws(() => claimsFromIntrospection(response, TOKEN, rules()), refusedWith('introspection_unavailable', /not a JSON object/), JSON.stringify(response));
    }
  });
});

describe('claimsFromIntrospection: the token type', () => {
  it('Bearer in any case, access_token and the RFC 8693 URI are access tokens', () => {
    for (const tokenType of ['Bearer', 'bearer', 'BEARER', 'access_token', 'urn:ietf:params:oauth:token-type:access_token']) {
      assert.equal(claimsFromIntrospection(oidcProviderAccess({ token_type: tokenType }), TOKEN, rules()).subject, 'usr_123', tokenType);
    }
  });

  it('no token_type (how oidc-provider answers for a refresh token) is typ_invalid', () => {
    // oidc-provider's refresh token introspection: no token_type, no aud.
    const refresh = { active: true, client_id: 'calendar-app', exp: NOW + 3600, iat: NOW - 60, iss: ISSUER, scope: 'openid offline_access', sub: 'usr_123' };
    assert.throws(() => claimsFromIntrospection(refresh, TOKEN, rules()), refusedWith('typ_invalid', /token_type/));
  });

  it('token_type refresh_token, or another type, is typ_invalid', () => {
    for (const tokenType of ['refresh_token', 'urn:ietf:params:oauth:token-type:refresh_token', 'id_token', 'N_A', '', 42, ['Bearer'], null]) {
      assert.throws(() => claimsFromIntrospection(oidcProviderAccess({ token_type: tokenType }), TOKEN, rules()), refusedWith('typ_invalid'), JSON.stringify(tokenType));
    }
  });

  it('Keycloak refresh token (payload "typ": "Refresh", no token_type) is typ_invalid', () => {
    const keycloakRefresh = {
      active: true, exp: NOW + 1800, iat: NOW - 60, jti: '9a3b1c2d-refresh', iss: ISSUER, aud: ISSUER, sub: 'f3a1e4c2-user', typ: 'Refresh', azp: 'calendar-app',
      session_state: 'b2c3', scope: 'profile email', sid: 'b2c3', client_id: 'calendar-app', username: 'alice',
    };
    assert.throws(() => claimsFromIntrospection(keycloakRefresh, TOKEN, rules('keycloak')), refusedWith('typ_invalid'));
    // Even were it to add a Bearer token_type, the profile refuses a payload typ other than Bearer.
    assert.throws(() => claimsFromIntrospection({ ...keycloakRefresh, token_type: 'Bearer' }, TOKEN, rules('keycloak')), refusedWith('claim_invalid', /Refresh/));
  });

  it('token_type DPoP names the key it is bound to (the authorizer then requires its proof); without cnf.jkt it is claim_invalid', () => {
    const jkt = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I';
    for (const tokenType of ['DPoP', 'dpop']) {
      assert.equal(claimsFromIntrospection(oidcProviderAccess({ token_type: tokenType, cnf: { jkt } }), TOKEN, rules()).boundKey, jkt);
      assert.throws(() => claimsFromIntrospection(oidcProviderAccess({ token_type: tokenType }), TOKEN, rules()), refusedWith('claim_invalid', /cnf\.jkt/));
    }
  });

  it('a Bearer answer with cnf.jkt is bound all the same; another cnf is claim_invalid', () => {
    assert.equal(claimsFromIntrospection(oidcProviderAccess({ cnf: { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' } }), TOKEN, rules()).boundKey, '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I');
    assert.throws(() => claimsFromIntrospection(oidcProviderAccess({ cnf: { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' } }), TOKEN, rules()), refusedWith('claim_invalid', /x5t#S256/));
  });
});

describe('claimsFromIntrospection: the claim rules of a JWT', () => {
  it('iss of another issuer is issuer_mismatch; a missing iss is the issuer that answered', () => {
    assert.throws(() => claimsFromIntrospection(oidcProviderAccess({ iss: 'https://other.example/' }), TOKEN, rules()), refusedWith('issuer_mismatch'));
    assert.throws(() => claimsFromIntrospection(oidcProviderAccess({ iss: 'https://issuer.example' }), TOKEN, rules()), refusedWith('issuer_mismatch'));
    assert.equal(claimsFromIntrospection(oidcProviderAccess({ iss: undefined }), TOKEN, rules()).issuer, ISSUER);
  });

  it('exp: required, not past, not beyond the lifetime cap', () => {
    assert.throws(() => claimsFromIntrospection(oidcProviderAccess({ exp: undefined }), TOKEN, rules()), refusedWith('claim_invalid', /exp/));
    assert.throws(() => claimsFromIntrospection(oidcProviderAccess({ exp: String(NOW + 3600) }), TOKEN, rules()), refusedWith('claim_invalid', /exp/));
    assert.throws(() => claimsFromIntrospection(oidcProviderAccess({ exp: NOW - 60 }), TOKEN, rules()), refusedWith('token_expired'));
    assert.throws(() => claimsFromIntrospection(oidcProviderAccess({ exp: NOW + MAX_LIFETIME + 3600 }), TOKEN, rules()), refusedWith('claim_invalid', /AUTH_MAX_TOKEN_LIFETIME_SECONDS/));
    assert.throws(() => claimsFromIntrospection(oidcProviderAccess({ iat: undefined, exp: 1e308 }), TOKEN, rules()), refusedWith('claim_invalid'));
  });

  it('no sub but a client_id: a client token (RFC 9068 §2.2: the client is the subject)', () => {
    const claims = claimsFromIntrospection(oidcProviderAccess({ sub: undefined, client_id: 'geocoding-backend', scope: 'geocode' }), TOKEN, rules());
    assert.equal(claims.subject, 'geocoding-backend');
    assert.equal(claims.clientId, 'geocoding-backend');
    assert.equal(claims.tokenUse, 'client');
  });

  it('neither sub nor client_id: claim_invalid', () => {
    assert.throws(() => claimsFromIntrospection(oidcProviderAccess({ sub: undefined, client_id: undefined }), TOKEN, rules()), refusedWith('claim_invalid', /sub/));
  });

  it('no aud: audience_missing', () => {
    assert.throws(() => claimsFromIntrospection(oidcProviderAccess({ aud: undefined }), TOKEN, rules()), refusedWith('audience_missing'));
  });

  it('an ID-token marker is id_token_presented', () => {
    assert.throws(() => claimsFromIntrospection(oidcProviderAccess({ nonce: 'n-0S6_WzA2Mj' }), TOKEN, rules()), refusedWith('id_token_presented'));
  });
});

describe('claimsFromIntrospection: provider shapes', () => {
  // Okta's /oauth2/{id}/v1/introspect: RFC 7662 members (scope as a string, client_id), not the JWT's scp and cid.
  const okta = {
    active: true, token_type: 'Bearer', scope: 'openid profile calendar.read', client_id: '0oabskvc6442nkvQO0h7', username: 'john.doe@example.com',
    exp: NOW + 3600, iat: NOW - 60, sub: 'john.doe@example.com', aud: 'api://calendar', iss: ISSUER, jti: 'AT.7P4KlczBYVcWLkxduEuKeZfeiNYkZIC9uGJ28Cc-YaI', uid: '00uid4BxXw6I6TV4m0g3',
  };

  it('Okta: the scope string and client_id are read under the okta profile (whose JWT claims are scp and cid)', () => {
    const claims = claimsFromIntrospection(okta, TOKEN, rules('okta'));
    assert.deepEqual([...claims.scopes].sort(), ['calendar.read', 'openid', 'profile']);
    assert.equal(claims.clientId, '0oabskvc6442nkvQO0h7');
    assert.equal(claims.tokenUse, 'user');
    assert.equal(claims.tokenId, 'AT.7P4KlczBYVcWLkxduEuKeZfeiNYkZIC9uGJ28Cc-YaI');
  });

  it('Okta: a client-credentials answer (sub = client_id, no uid) is a client token', () => {
    const claims = claimsFromIntrospection({ ...okta, sub: '0oabskvc6442nkvQO0h7', uid: undefined, username: undefined, scope: 'calendar.sync' }, TOKEN, rules('okta'));
    assert.equal(claims.tokenUse, 'client');
    assert.deepEqual([...claims.scopes], ['calendar.sync']);
  });

  it('the introspection profile puts scope and client_id first, and keeps the profile otherwise', () => {
    const profile = introspectionProfile(issuerProfile('okta'));
    assert.deepEqual(profile.scopeClaims, ['scope', 'scp']);
    assert.deepEqual(profile.clientIdClaims, ['client_id', 'cid']);
    assert.equal(profile.name, 'okta');
    assert.equal(introspectionProfile(issuerProfile('rfc9068', { requireAccessTokenType: true })).requireAccessTokenType, false);
  });

  // Keycloak's introspection answers with the token's own claims plus active, client_id, username and token_type.
  const keycloakAccess = {
    exp: NOW + 300, iat: NOW - 60, jti: 'onrtac:7b4f2a', iss: ISSUER, aud: ['calendar-api', 'account'], sub: 'f3a1e4c2-user', typ: 'Bearer', azp: 'calendar-app',
    sid: 'b2c3', acr: '1', 'allowed-origins': ['https://app.example'], realm_access: { roles: ['default-roles-demo'] }, scope: 'profile email calendar.read',
    email_verified: true, preferred_username: 'alice', client_id: 'calendar-app', username: 'alice', token_type: 'Bearer', active: true,
  };

  it('Keycloak: an access token answer grants its scope and audiences', () => {
    const claims = claimsFromIntrospection(keycloakAccess, TOKEN, rules('keycloak'));
    assert.deepEqual(claims.audiences, ['calendar-api', 'account']);
    assert.deepEqual([...claims.scopes].sort(), ['calendar.read', 'email', 'profile']);
    assert.equal(claims.clientId, 'calendar-app');
  });

  it('Keycloak: a service account answer is a client token', () => {
    const claims = claimsFromIntrospection({ ...keycloakAccess, preferred_username: 'service-account-calendar-sync', username: 'service-account-calendar-sync' }, TOKEN, rules('keycloak'));
    assert.equal(claims.tokenUse, 'client');
  });

  it('Keycloak: a user\'s access token answer is a user token, though every answer carries "client_id"', () => {
    assert.equal(claimsFromIntrospection(keycloakAccess, TOKEN, rules('keycloak')).tokenUse, 'user');
  });
});

describe('claimsFromIntrospection: the token id', () => {
  it('jti present: tokenId is the jti', () => {
    assert.equal(claimsFromIntrospection(oidcProviderAccess({ jti: 'at-41f0' }), TOKEN, rules()).tokenId, 'at-41f0');
  });

  it('jti absent: tokenId is the hash of the token, never the token', () => {
    const claims = claimsFromIntrospection(oidcProviderAccess(), TOKEN, rules());
    assert.equal(claims.tokenId, opaqueTokenId(TOKEN));
    assert.match(claims.tokenId!, /^sha256:[A-Za-z0-9_-]{43}$/);
    assert.ok(!claims.tokenId!.includes(TOKEN));
    assert.notEqual(opaqueTokenId(`${TOKEN}x`), opaqueTokenId(TOKEN));
  });

  it('does not change the response it was given', () => {
    const response = oidcProviderAccess({ sub: undefined, iss: undefined });
    const copy = structuredClone(response);
    claimsFromIntrospection(response, TOKEN, rules());
    assert.deepEqual(response, copy);
  });
});
