import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isProfileName, issuerProfile, type ProfileName, PROFILE_NAMES, type TokenKind } from '../../../lib/jwt/issuer-profile.js';

const kindOf = (name: ProfileName, payload: Record<string, unknown>): TokenKind => {
  const profile = issuerProfile(name);
  const clientId = profile.clientIdClaims.map((claim) => payload[claim]).find((value) => typeof value === 'string') as string | undefined;
  return profile.kindOf(payload, payload['sub'] as string, clientId);
};
const use = (name: ProfileName, payload: Record<string, unknown>) => kindOf(name, payload).tokenUse;

describe('issuer profiles: who is present', () => {
  it('rfc9068: sub = client_id is a client, another sub a user, and no client id cannot be told', () => {
    assert.equal(use('rfc9068', { sub: 'geocoding-backend', client_id: 'geocoding-backend' }), 'client');
    assert.equal(use('rfc9068', { sub: 'usr_1', client_id: 'calendar-app' }), 'user');
    assert.equal(use('rfc9068', { sub: 'usr_1', azp: 'calendar-app' }), 'user');
    assert.equal(use('rfc9068', { sub: 'usr_1' }), 'unknown');
    // Auth0's marker only ever makes a token less privileged, so the default profile honours it too.
    assert.equal(use('rfc9068', { sub: 'usr_1', client_id: 'calendar-app', gty: 'client-credentials' }), 'client');
  });

  it('auth0: gty or "<id>@clients" is a client; a "<connection>|<id>" subject a user', () => {
    assert.equal(use('auth0', { sub: 'Abc123@clients', azp: 'Abc123', gty: 'client-credentials' }), 'client');
    assert.equal(use('auth0', { sub: 'Abc123@clients', azp: 'Abc123' }), 'client');
    assert.equal(use('auth0', { sub: 'auth0|64f1c2', azp: 'Abc123' }), 'user');
    assert.equal(use('auth0', { sub: 'google-oauth2|1077', azp: 'Abc123', gty: 'password' }), 'user');
    assert.equal(use('auth0', { sub: 'something-else', azp: 'Abc123' }), 'unknown');
  });

  it('okta: sub = cid is a client, uid marks a user, and cid alone is not evidence of one', () => {
    assert.equal(use('okta', { sub: '0oa1client', cid: '0oa1client' }), 'client');
    assert.equal(use('okta', { sub: 'alice@example.com', cid: '0oa1client', uid: '00u1alice' }), 'user');
    // The reviewed defect: a client-credentials token whose sub differs from cid must not become a user.
    assert.equal(use('okta', { sub: 'service', cid: '0oa1client' }), 'unknown');
  });

  it('entra: idtyp decides; else delegated scp means a user, and roles alone an app', () => {
    assert.equal(use('entra', { sub: 'x', azp: 'app', idtyp: 'app', roles: ['Geocode.All'] }), 'client');
    assert.equal(use('entra', { sub: 'x', azp: 'app', roles: ['Geocode.All'] }), 'client');
    assert.equal(use('entra', { sub: 'x', appid: 'app', scp: 'Calendars.Read' }), 'user');
    assert.equal(use('entra', { sub: 'x', azp: 'app', idtyp: 'user', scp: 'Calendars.Read' }), 'user');
    // An app-only token that also carries a user's app role in "roles" is still an app.
    assert.equal(use('entra', { sub: 'x', azp: 'app', idtyp: 'app', scp: 'Calendars.Read' }), 'client');
    assert.match(kindOf('entra', { sub: 'x', azp: 'app', idtyp: 'device' }).invalid ?? '', /"idtyp" is "device"/);
  });

  it('keycloak: service accounts are clients, a named user is a user, a lightweight token cannot be told', () => {
    assert.equal(use('keycloak', { sub: 'f3c1', typ: 'Bearer', azp: 'geo', preferred_username: 'service-account-geo' }), 'client');
    assert.equal(use('keycloak', { sub: 'f3c1', typ: 'Bearer', azp: 'geo', client_id: 'geo' }), 'client');
    assert.equal(use('keycloak', { sub: 'f3c1', typ: 'Bearer', azp: 'geo', clientId: 'geo' }), 'client');
    assert.equal(use('keycloak', { sub: 'a9b8', typ: 'Bearer', azp: 'calendar-app', preferred_username: 'alice' }), 'user');
    assert.equal(use('keycloak', { sub: 'a9b8', typ: 'Bearer', azp: 'calendar-app' }), 'unknown');
    assert.match(kindOf('keycloak', { sub: 'a9b8', typ: 'Refresh', azp: 'calendar-app' }).invalid ?? '', /"typ" is "Refresh", not "Bearer"/);
  });

  it('cognito: token_use access is required; username marks a user, sub = client_id a client', () => {
    assert.equal(use('cognito', { sub: 'uuid-1', token_use: 'access', client_id: 'c1', username: 'uuid-1' }), 'user');
    assert.equal(use('cognito', { sub: 'c1', token_use: 'access', client_id: 'c1' }), 'client');
    assert.equal(use('cognito', { sub: 'uuid-1', token_use: 'access', client_id: 'c1' }), 'unknown');
    assert.match(kindOf('cognito', { sub: 'uuid-1', client_id: 'c1', username: 'u' }).invalid ?? '', /"token_use" is missing/);
    assert.match(kindOf('cognito', { sub: 'uuid-1', client_id: 'c1', token_use: 'refresh' }).invalid ?? '', /"token_use" is "refresh"/);
  });
});

describe('issuer profiles: ID tokens', () => {
  it('every profile refuses the generic markers: nonce, at_hash, c_hash, token_use id, payload typ ID', () => {
    for (const name of PROFILE_NAMES) {
      for (const marker of [{ nonce: 'n-0S6' }, { at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q' }, { c_hash: 'LDktKdoQak3Pk0cnXxCltA' }, { token_use: 'id' }, { typ: 'ID' }]) {
        const payload = { sub: 'u', client_id: 'c', azp: 'c', cid: 'c', token_use: 'access', ...marker };
        assert.ok(kindOf(name, payload).idToken !== undefined, `${name} ${JSON.stringify(marker)}`);
      }
    }
  });

  it('keycloak before 25 put the request nonce in access tokens: typ Bearer outranks it, at_hash does not', () => {
    assert.equal(kindOf('keycloak', { sub: 'a9b8', typ: 'Bearer', azp: 'calendar-app', preferred_username: 'alice', nonce: 'n-1' }).idToken, undefined);
    assert.ok(kindOf('keycloak', { sub: 'a9b8', typ: 'Bearer', azp: 'calendar-app', at_hash: 'x' }).idToken !== undefined);
    assert.ok(kindOf('keycloak', { sub: 'a9b8', azp: 'calendar-app', nonce: 'n-1' }).idToken !== undefined);
  });

  it('okta and entra access tokens always name their client: a token that does not is an ID token', () => {
    assert.match(kindOf('okta', { sub: 'alice', uid: '00u1' }).idToken ?? '', /"cid"/);
    assert.match(kindOf('entra', { sub: 'x', oid: 'o', tid: 't' }).idToken ?? '', /"azp".*"appid"/);
    assert.equal(kindOf('okta', { sub: 'alice', uid: '00u1', cid: 'c' }).idToken, undefined);
  });
});

describe('issuer profiles: presets and overrides', () => {
  it('each preset reads its provider\'s scope and client claims; overrides replace, never merge', () => {
    const shape = (name: ProfileName) => {
      const { scopeClaims, clientIdClaims, clientIdAsAudience } = issuerProfile(name);
      return { scopeClaims: [...scopeClaims], clientIdClaims: [...clientIdClaims], clientIdAsAudience };
    };
    assert.deepEqual(shape('rfc9068'), { scopeClaims: ['scope'], clientIdClaims: ['client_id', 'azp'], clientIdAsAudience: false });
    assert.deepEqual(shape('auth0'), { scopeClaims: ['scope', 'permissions'], clientIdClaims: ['azp', 'client_id'], clientIdAsAudience: false });
    assert.deepEqual(shape('okta'), { scopeClaims: ['scp'], clientIdClaims: ['cid'], clientIdAsAudience: false });
    assert.deepEqual(shape('entra'), { scopeClaims: ['scp', 'roles'], clientIdClaims: ['azp', 'appid'], clientIdAsAudience: false });
    assert.deepEqual(shape('keycloak'), { scopeClaims: ['scope'], clientIdClaims: ['azp'], clientIdAsAudience: false });
    assert.deepEqual(shape('cognito'), { scopeClaims: ['scope'], clientIdClaims: ['client_id'], clientIdAsAudience: true });
    const custom = issuerProfile('entra', { scopeClaims: ['roles'], requireAccessTokenType: true });
    assert.deepEqual([...custom.scopeClaims], ['roles']);
    assert.equal(custom.requireAccessTokenType, true);
    assert.ok(Object.isFrozen(custom) && Object.isFrozen(custom.scopeClaims));
  });
});

describe('issuer profiles: an ID token is refused whatever else it looks like', () => {
  // Each profile's payloads for every kind it can tell, each carrying an ID-token marker too.
  const shapes: [ProfileName, Record<string, unknown>][] = [
    ['rfc9068', { sub: 'c', client_id: 'c' }], ['rfc9068', { sub: 'u', client_id: 'c' }], ['rfc9068', { sub: 'u' }], ['rfc9068', { sub: 'u', client_id: 'c', gty: 'client-credentials' }],
    ['auth0', { sub: 'x@clients', azp: 'x' }], ['auth0', { sub: 'auth0|1', azp: 'x' }], ['auth0', { sub: 'x', azp: 'x' }],
    ['okta', { sub: 'c', cid: 'c' }], ['okta', { sub: 'u', cid: 'c', uid: 'u1' }], ['okta', { sub: 'u', cid: 'c' }],
    ['entra', { sub: 'x', azp: 'a', idtyp: 'app' }], ['entra', { sub: 'x', azp: 'a', idtyp: 'user' }], ['entra', { sub: 'x', azp: 'a', idtyp: 'device' }],
    ['entra', { sub: 'x', azp: 'a', scp: 'Read' }], ['entra', { sub: 'x', azp: 'a' }],
    ['keycloak', { sub: 'x', typ: 'Bearer', preferred_username: 'service-account-geo' }], ['keycloak', { sub: 'x', typ: 'Bearer', preferred_username: 'alice' }],
    ['keycloak', { sub: 'x', typ: 'Bearer' }],
    ['cognito', { sub: 'c', client_id: 'c', token_use: 'access' }], ['cognito', { sub: 'u', client_id: 'c', token_use: 'access', username: 'u' }], ['cognito', { sub: 'u', client_id: 'c', token_use: 'access' }],
  ];

  it('a marker makes an ID token of every kind of payload, and the reason names the marker', () => {
    for (const [name, payload] of shapes) {
      for (const [marker, reason] of [[{ at_hash: 'x' }, /carries "at_hash", which only ID tokens do/], [{ c_hash: 'x' }, /carries "c_hash"/], [{ token_use: 'id' }, /"token_use" is "id"/], [{ typ: 'id' }, /payload "typ" is "ID"/]] as const) {
        assert.match(kindOf(name, { ...payload, ...marker }).idToken ?? '', reason, `${name} ${JSON.stringify(payload)} ${JSON.stringify(marker)}`);
      }
      if (name !== 'keycloak') assert.match(kindOf(name, { ...payload, nonce: 'n' }).idToken ?? '', /carries "nonce"/, `${name} ${JSON.stringify(payload)}`);
    }
  });

  it('a marker counts by its presence, whatever its value; a payload typ that is not a string is no marker', () => {
    for (const value of [null, '', 0, false]) assert.ok(kindOf('rfc9068', { sub: 'u', client_id: 'c', nonce: value }).idToken !== undefined, String(value));
    for (const typ of ['ID', 'Id', 'iD']) assert.ok(kindOf('rfc9068', { sub: 'u', client_id: 'c', typ }).idToken !== undefined, typ);
    for (const typ of [42, ['ID'], 'IDs', 'at+jwt']) assert.equal(kindOf('rfc9068', { sub: 'u', client_id: 'c', typ }).idToken, undefined, JSON.stringify(typ));
    assert.equal(kindOf('rfc9068', { sub: 'u', client_id: 'c', token_use: 'access' }).idToken, undefined);
    assert.equal(kindOf('rfc9068', { sub: 'u', client_id: 'c' }).idToken, undefined);
  });

  it('no access token of any profile is taken for an ID token', () => {
    for (const [name, payload] of shapes) {
      assert.equal(kindOf(name, payload).idToken, undefined, `${name} ${JSON.stringify(payload)}`);
    }
  });
});

describe('issuer profiles: evidence of a user must be a non-empty string', () => {
  it('an empty uid, username or preferred_username proves no user; an empty scp no delegation', () => {
    assert.equal(use('okta', { sub: 'u', cid: 'c', uid: '' }), 'unknown');
    assert.equal(use('okta', { sub: 'u', cid: 'c', uid: 42 }), 'unknown');
    assert.equal(use('cognito', { sub: 'u', client_id: 'c', token_use: 'access', username: '' }), 'unknown');
    assert.equal(use('cognito', { sub: 'u', client_id: 'c', token_use: 'access', username: ['u'] }), 'unknown');
    assert.equal(use('keycloak', { sub: 'x', typ: 'Bearer', preferred_username: '' }), 'unknown');
    assert.equal(use('keycloak', { sub: 'x', typ: 'Bearer', preferred_username: 7 }), 'unknown');
    assert.equal(use('entra', { sub: 'x', azp: 'a', scp: '' }), 'client');
    assert.equal(use('entra', { sub: 'x', azp: 'a', scp: ['Read'] }), 'client');
  });

  it('a machine token stays a machine token whatever user-looking claims it adds', () => {
    assert.equal(use('okta', { sub: 'c', cid: 'c', uid: 'u1' }), 'client');
    assert.equal(use('cognito', { sub: 'c', client_id: 'c', token_use: 'access', username: 'alice' }), 'client');
    assert.equal(use('keycloak', { sub: 'x', typ: 'Bearer', preferred_username: 'alice', client_id: 'geo' }), 'client');
    assert.equal(use('keycloak', { sub: 'x', typ: 'Bearer', preferred_username: 'alice', clientId: 'geo' }), 'client');
    assert.equal(use('auth0', { sub: 'auth0|1', azp: 'x', gty: 'client-credentials' }), 'client');
    assert.equal(use('entra', { sub: 'x', azp: 'a', idtyp: 'app', scp: 'Read' }), 'client');
    // A user name that merely contains the service-account prefix, not at its start, is a user.
    assert.equal(use('keycloak', { sub: 'x', typ: 'Bearer', preferred_username: 'alice-service-account-geo' }), 'user');
    // Auth0: "@clients" must end the subject.
    assert.equal(use('auth0', { sub: 'x@clients.example', azp: 'x' }), 'unknown');
    // A Cognito username without a client id is not a user of any app.
    assert.equal(kindOf('cognito', { sub: 'u', token_use: 'access', username: 'alice' }).tokenUse, 'unknown');
  });

  it('rules of the profile: keycloak\'s payload typ, cognito\'s token_use, entra\'s idtyp; an ID token is not also invalid', () => {
    assert.equal(kindOf('keycloak', { sub: 'x', typ: 'Bearer', preferred_username: 'alice' }).invalid, undefined);
    assert.equal(kindOf('keycloak', { sub: 'x', preferred_username: 'alice' }).invalid, undefined);
    assert.match(kindOf('keycloak', { sub: 'x', typ: 'Refresh', preferred_username: 'service-account-geo' }).invalid ?? '', /"typ" is "Refresh"/);
    assert.match(kindOf('keycloak', { sub: 'x', typ: 'bearer', preferred_username: 'alice' }).invalid ?? '', /"typ" is "bearer", not "Bearer"/);
    assert.equal(kindOf('keycloak', { sub: 'x', typ: 'ID' }).invalid, undefined);
    assert.equal(kindOf('cognito', { sub: 'u', client_id: 'c', token_use: 'id' }).invalid, undefined);
    assert.match(kindOf('cognito', { sub: 'c', client_id: 'c', token_use: 42 }).invalid ?? '', /"token_use" is 42; a Cognito access token has "access"/);
    assert.match(kindOf('cognito', { sub: 'c', client_id: 'c' }).invalid ?? '', /^"token_use" is missing; a Cognito access token has "access"$/);
    assert.equal(kindOf('entra', { sub: 'x', azp: 'a', idtyp: 'device' }).tokenUse, 'unknown');
    assert.match(kindOf('entra', { sub: 'x', azp: 'a', idtyp: 7 }).invalid ?? '', /^"idtyp" is 7, neither "app" nor "user"$/);
    for (const name of PROFILE_NAMES) assert.equal(kindOf(name, { sub: 'u', client_id: 'c', azp: 'c', cid: 'c', token_use: 'access', typ: 'Bearer', uid: 'u' }).invalid, undefined, name);
  });
});

describe('issuer profiles: names and defaults', () => {
  it('knows the six profile names exactly', () => {
    for (const name of PROFILE_NAMES) assert.equal(isProfileName(name), true, name);
    for (const value of ['RFC9068', 'azure', 'google', '', ' okta', 'toString', 'constructor', undefined, null, 1, ['okta']]) {
      assert.equal(isProfileName(value), false, String(value));
    }
  });

  it('no preset requires typ at+jwt; an override may turn it on or off, and leaves the scope claims alone', () => {
    for (const name of PROFILE_NAMES) {
      assert.equal(issuerProfile(name).requireAccessTokenType, false, name);
      assert.equal(issuerProfile(name).name, name);
      assert.equal(issuerProfile(name, { requireAccessTokenType: true }).requireAccessTokenType, true, name);
      assert.equal(issuerProfile(name, { requireAccessTokenType: false }).requireAccessTokenType, false, name);
      assert.deepEqual([...issuerProfile(name, { requireAccessTokenType: true }).scopeClaims], [...issuerProfile(name).scopeClaims], name);
    }
    // A caller's array is copied, not kept: changing it later changes no profile.
    const claims: ('scope' | 'roles')[] = ['scope'];
    const profile = issuerProfile('rfc9068', { scopeClaims: claims });
    claims.push('roles');
    assert.deepEqual([...profile.scopeClaims], ['scope']);
  });
});
