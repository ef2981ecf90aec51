import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Environment, loadConfig } from '../../../lib/authorizer/config.js';
import { ConfigError } from '../../../lib/errors.js';

const ISSUER = 'https://issuer.example.com/';
const OTHER = 'https://other.example.com/';
const SECRET = 'do-not-print-me-9f2c';

/** A ConfigError for `variable` whose message starts with it and says `text` (the fix). Never the secret. */
const naming = (variable: string, text: RegExp) => (error: unknown) => {
  assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
  assert.equal(error.variable, variable, error.message);
  assert.ok(error.message.startsWith(`${variable}:`), error.message);
  assert.match(error.message, text);
  assert.ok(!error.message.includes(SECRET), `the message carries the secret: ${error.message}`);
  return true;
};

/** The simple form: one issuer, AUTH_INTROSPECTION_*. */
const simple = (overrides: Environment = {}): Environment => {
  const env: Environment = { AUTH_ISSUER: ISSUER, AUTH_INTROSPECTION: 'opaque', AUTH_INTROSPECTION_CLIENT_ID: 'calendar-gate', AUTH_INTROSPECTION_CLIENT_SECRET: SECRET, ...overrides };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  return env;
};

/** The full form: AUTH_ISSUERS entries, the first with `introspection`. */
const full = (introspection: unknown, more: unknown[] = [], entry: Record<string, unknown> = {}, env: Environment = {}): Environment => ({
  AUTH_ISSUERS: JSON.stringify([{ issuer: ISSUER, profile: 'keycloak', ...entry, introspection }, ...more]),
  GATE_INTROSPECTION_SECRET: SECRET,
  ...env,
});

const INTROSPECTION = { tokens: 'opaque', clientId: 'calendar-gate', clientSecretSsm: '/bearer-gate/introspection-secret' };

describe('loadConfig: introspection, happy paths', () => {
  it('no introspection: no options, no introspect on any issuer', () => {
    const config = loadConfig({ AUTH_ISSUER: ISSUER });
    assert.equal(config.introspection, undefined);
    assert.equal(config.issuers[0]!.introspect, undefined);
    assert.equal(config.issuers[0]!.introspection, undefined);
  });

  it('the simple form, with the defaults of every option', () => {
    const config = loadConfig(simple());
    const [issuer] = config.issuers;
    assert.equal(issuer!.introspect, 'opaque');
    assert.deepEqual({ ...issuer!.introspection, profile: issuer!.introspection!.profile.name }, {
      issuer: ISSUER, endpoint: undefined, clientId: 'calendar-gate', clientSecret: { kind: 'value', value: SECRET }, authMethod: 'client_secret_basic', profile: 'rfc9068',
    });
    assert.deepEqual(config.introspection, {
      timeoutMs: 1500, maxResponseBytes: 16384, cacheSize: 1000, activeCacheSeconds: 60, inactiveCacheSeconds: 10, staleIfErrorSeconds: 60,
      clockToleranceSeconds: 5, maxTokenLifetimeSeconds: 2_592_000,
    });
  });

  it('the simple form reads every setting', () => {
    const config = loadConfig(simple({
      AUTH_INTROSPECTION: 'all', AUTH_ISSUER_PROFILE: 'okta', AUTH_INTROSPECTION_ENDPOINT: 'https://issuer.example.com/oauth2/v1/introspect', AUTH_INTROSPECTION_AUTH_METHOD: 'client_secret_post',
      AUTH_INTROSPECTION_CLIENT_SECRET: undefined, AUTH_INTROSPECTION_CLIENT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:gate-AbCdEf',
      AUTH_INTROSPECTION_TIMEOUT_MS: '800', AUTH_INTROSPECTION_MAX_BYTES: '2048', AUTH_INTROSPECTION_CACHE_SIZE: '50', AUTH_INTROSPECTION_CACHE_SECONDS: '30',
      AUTH_INTROSPECTION_INACTIVE_CACHE_SECONDS: '0', AUTH_INTROSPECTION_STALE_IF_ERROR_SECONDS: '120', AUTH_CLOCK_TOLERANCE_SECONDS: '2', AUTH_MAX_TOKEN_LIFETIME_SECONDS: '86400',
    }));
    const [issuer] = config.issuers;
    assert.equal(issuer!.introspect, 'all');
    assert.equal(issuer!.introspection!.endpoint, 'https://issuer.example.com/oauth2/v1/introspect');
    assert.equal(issuer!.introspection!.authMethod, 'client_secret_post');
    assert.equal(issuer!.introspection!.profile.name, 'okta');
    assert.deepEqual(issuer!.introspection!.clientSecret, { kind: 'secretsmanager', id: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:gate-AbCdEf' });
    assert.deepEqual(config.introspection, {
      timeoutMs: 800, maxResponseBytes: 2048, cacheSize: 50, activeCacheSeconds: 30, inactiveCacheSeconds: 0, staleIfErrorSeconds: 120, clockToleranceSeconds: 2, maxTokenLifetimeSeconds: 86400,
    });
  });

  it('the simple form: an SSM parameter; a loopback http endpoint for the local stack', () => {
    const config = loadConfig(simple({ AUTH_INTROSPECTION_CLIENT_SECRET: undefined, AUTH_INTROSPECTION_CLIENT_SECRET_SSM: ' /gate/secret ', AUTH_INTROSPECTION_ENDPOINT: 'http://localhost:4000/token/introspection' }));
    assert.deepEqual(config.issuers[0]!.introspection!.clientSecret, { kind: 'ssm', name: '/gate/secret' });
    assert.equal(config.issuers[0]!.introspection!.endpoint, 'http://localhost:4000/token/introspection');
  });

  it('AUTH_ISSUERS: "introspection" on one entry, with its defaults; the other issuer does not introspect', () => {
    const config = loadConfig(full({ clientId: 'calendar-gate', clientSecretEnv: 'GATE_INTROSPECTION_SECRET' }, [{ issuer: OTHER, profile: 'okta' }]));
    const [first, second] = config.issuers;
    assert.equal(first!.introspect, 'opaque');
    assert.deepEqual({ ...first!.introspection, profile: first!.introspection!.profile.name }, {
      issuer: ISSUER, endpoint: undefined, clientId: 'calendar-gate', clientSecret: { kind: 'value', value: SECRET }, authMethod: 'client_secret_basic', profile: 'keycloak',
    });
    assert.equal(second!.introspect, undefined);
    assert.equal(second!.introspection, undefined);
    assert.equal(config.introspection!.timeoutMs, 1500);
  });

  it('AUTH_ISSUERS: every setting, and the shared option variables', () => {
    const config = loadConfig(full({
      tokens: 'all', endpoint: 'https://issuer.example.com/realms/demo/protocol/openid-connect/token/introspect', clientId: 'gate', clientSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:x', authMethod: 'client_secret_post',
    }, [], {}, { AUTH_INTROSPECTION_TIMEOUT_MS: '600', AUTH_INTROSPECTION_CACHE_SIZE: '0' }));
    const [issuer] = config.issuers;
    assert.equal(issuer!.introspect, 'all');
    assert.equal(issuer!.introspection!.endpoint, 'https://issuer.example.com/realms/demo/protocol/openid-connect/token/introspect');
    assert.deepEqual(issuer!.introspection!.clientSecret, { kind: 'secretsmanager', id: 'arn:aws:secretsmanager:eu-west-1:1:secret:x' });
    assert.equal(issuer!.introspection!.authMethod, 'client_secret_post');
    assert.equal(config.introspection!.timeoutMs, 600);
    assert.equal(config.introspection!.cacheSize, 0);
  });

  it('keycloak, okta and rfc9068 issuers may introspect', () => {
    for (const profile of ['keycloak', 'okta', 'rfc9068']) {
      assert.equal(loadConfig(full(INTROSPECTION, [], { profile })).issuers[0]!.introspection!.profile.name, profile);
      assert.equal(loadConfig(simple({ AUTH_ISSUER_PROFILE: profile })).issuers[0]!.introspect, 'opaque');
    }
  });
});

describe('loadConfig: introspection, the simple form\'s mistakes', () => {
  it('AUTH_INTROSPECTION is "opaque" or "all"', () => {
    assert.throws(() => loadConfig(simple({ AUTH_INTROSPECTION: 'true' })), naming('AUTH_INTROSPECTION', /"opaque".*"all"/));
  });

  it('a missing client id', () => {
    assert.throws(() => loadConfig(simple({ AUTH_INTROSPECTION_CLIENT_ID: undefined })), naming('AUTH_INTROSPECTION_CLIENT_ID', /is required with AUTH_INTROSPECTION/));
    assert.throws(() => loadConfig(simple({ AUTH_INTROSPECTION_CLIENT_ID: '  ' })), naming('AUTH_INTROSPECTION_CLIENT_ID', /is required/));
  });

  it('no secret source, or several', () => {
    const sources = /AUTH_INTROSPECTION_CLIENT_SECRET, AUTH_INTROSPECTION_CLIENT_SECRET_SSM, AUTH_INTROSPECTION_CLIENT_SECRET_ARN/;
    assert.throws(() => loadConfig(simple({ AUTH_INTROSPECTION_CLIENT_SECRET: undefined })), naming('AUTH_INTROSPECTION', /exactly one client secret source.*none is set/));
    assert.throws(() => loadConfig(simple({ AUTH_INTROSPECTION_CLIENT_SECRET: undefined })), naming('AUTH_INTROSPECTION', sources));
    assert.throws(() => loadConfig(simple({ AUTH_INTROSPECTION_CLIENT_SECRET_SSM: '/gate/secret' })), naming('AUTH_INTROSPECTION', /several are set/));
    assert.throws(() => loadConfig(simple({ AUTH_INTROSPECTION_CLIENT_SECRET: undefined, AUTH_INTROSPECTION_CLIENT_SECRET_SSM: '/a', AUTH_INTROSPECTION_CLIENT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:x' })), naming('AUTH_INTROSPECTION', /several are set/));
  });

  it('an http endpoint for a remote host', () => {
    assert.throws(() => loadConfig(simple({ AUTH_INTROSPECTION_ENDPOINT: 'http://issuer.example.com/introspect' })), naming('AUTH_INTROSPECTION_ENDPOINT', /must use https.*localhost/));
    assert.throws(() => loadConfig(simple({ AUTH_INTROSPECTION_ENDPOINT: 'http://127.evil.example/introspect' })), naming('AUTH_INTROSPECTION_ENDPOINT', /must use https/));
    assert.throws(() => loadConfig(simple({ AUTH_INTROSPECTION_ENDPOINT: 'issuer.example.com/introspect' })), naming('AUTH_INTROSPECTION_ENDPOINT', /absolute URL/));
  });

  it('an unsupported auth method', () => {
    assert.throws(() => loadConfig(simple({ AUTH_INTROSPECTION_AUTH_METHOD: 'private_key_jwt' })), naming('AUTH_INTROSPECTION_AUTH_METHOD', /client_secret_basic.*client_secret_post/));
  });

  it('auth0, cognito and entra issuers have no introspection endpoint', () => {
    assert.throws(() => loadConfig(simple({ AUTH_ISSUER_PROFILE: 'auth0' })), naming('AUTH_INTROSPECTION', /profile is auth0.*\/userinfo.*audience/));
    assert.throws(() => loadConfig(simple({ AUTH_ISSUER_PROFILE: 'cognito' })), naming('AUTH_INTROSPECTION', /profile is cognito.*no introspection endpoint/));
    assert.throws(() => loadConfig(simple({ AUTH_ISSUER_PROFILE: 'entra' })), naming('AUTH_INTROSPECTION', /profile is entra.*no introspection endpoint/));
  });

  it('AUTH_INTROSPECTION with two AUTH_ISSUER entries', () => {
    assert.throws(() => loadConfig(simple({ AUTH_ISSUER: `${ISSUER},${OTHER}` })), naming('AUTH_INTROSPECTION', /one issuer.*lists 2.*AUTH_ISSUERS/));
  });

  it('a stray AUTH_INTROSPECTION_* without AUTH_INTROSPECTION', () => {
    for (const variable of ['AUTH_INTROSPECTION_CLIENT_ID', 'AUTH_INTROSPECTION_ENDPOINT', 'AUTH_INTROSPECTION_CLIENT_SECRET', 'AUTH_INTROSPECTION_CLIENT_SECRET_SSM', 'AUTH_INTROSPECTION_CLIENT_SECRET_ARN', 'AUTH_INTROSPECTION_AUTH_METHOD']) {
      assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, [variable]: variable === 'AUTH_INTROSPECTION_CLIENT_SECRET' ? SECRET : 'x' }), naming(variable, /AUTH_INTROSPECTION is not.*"opaque"/), variable);
    }
  });

  it('an option variable without introspection', () => {
    for (const variable of ['AUTH_INTROSPECTION_TIMEOUT_MS', 'AUTH_INTROSPECTION_MAX_BYTES', 'AUTH_INTROSPECTION_CACHE_SIZE', 'AUTH_INTROSPECTION_CACHE_SECONDS', 'AUTH_INTROSPECTION_INACTIVE_CACHE_SECONDS', 'AUTH_INTROSPECTION_STALE_IF_ERROR_SECONDS']) {
      assert.throws(() => loadConfig({ AUTH_ISSUER: ISSUER, [variable]: '10' }), naming(variable, /no issuer introspects/), variable);
      assert.throws(() => loadConfig({ AUTH_ISSUERS: JSON.stringify([{ issuer: ISSUER }]), [variable]: '10' }), naming(variable, /no issuer introspects/), variable);
    }
  });

  it('an option out of its range names it and its bounds', () => {
    assert.throws(() => loadConfig(simple({ AUTH_INTROSPECTION_TIMEOUT_MS: '10000' })), naming('AUTH_INTROSPECTION_TIMEOUT_MS', /from 50 to 3000/));
    assert.throws(() => loadConfig(simple({ AUTH_INTROSPECTION_MAX_BYTES: '100' })), naming('AUTH_INTROSPECTION_MAX_BYTES', /from 1024/));
    assert.throws(() => loadConfig(simple({ AUTH_INTROSPECTION_CACHE_SECONDS: 'one minute' })), naming('AUTH_INTROSPECTION_CACHE_SECONDS', /whole number/));
  });

  it('a misspelt introspection variable is refused with the right name', () => {
    assert.throws(() => loadConfig(simple({ AUTH_INTROSPECTION_CLIENTID: 'x' })), naming('AUTH_INTROSPECTION_CLIENTID', /did you mean AUTH_INTROSPECTION_CLIENT_ID\?/));
  });
});

describe('loadConfig: introspection, AUTH_ISSUERS mistakes', () => {
  const where = 'AUTH_ISSUERS[0].introspection';

  it('"introspection" must be an object', () => {
    for (const value of ['opaque', true, ['opaque'], null]) {
      assert.throws(() => loadConfig(full(value)), naming(where, /must be an object/), JSON.stringify(value));
    }
  });

  it('an unknown key, such as a literal secret, names the key and the settings there are', () => {
    assert.throws(() => loadConfig(full({ ...INTROSPECTION, clientSecret: SECRET })), naming(`${where}.clientSecret`, /is not a setting of introspection; use tokens, endpoint, clientId, clientSecretEnv, clientSecretSsm, clientSecretArn, authMethod/));
    assert.throws(() => loadConfig(full({ ...INTROSPECTION, timeoutMs: 500 })), naming(`${where}.timeoutMs`, /is not a setting/));
  });

  it('a missing client id', () => {
    assert.throws(() => loadConfig(full({ clientSecretSsm: '/a' })), naming(`${where}.clientId`, /is required/));
    assert.throws(() => loadConfig(full({ clientId: '', clientSecretSsm: '/a' })), naming(`${where}.clientId`, /is required/));
    assert.throws(() => loadConfig(full({ clientId: 7, clientSecretSsm: '/a' })), naming(`${where}.clientId`, /is required/));
  });

  it('no secret source, or several', () => {
    assert.throws(() => loadConfig(full({ clientId: 'gate' })), naming(where, /exactly one client secret source \(clientSecretEnv, clientSecretSsm, clientSecretArn\); none is set/));
    assert.throws(() => loadConfig(full({ clientId: 'gate', clientSecretSsm: '/a', clientSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:x' })), naming(where, /several are set/));
    assert.throws(() => loadConfig(full({ clientId: 'gate', clientSecretSsm: 42 })), naming(where, /clientSecretSsm must be a string/));
  });

  it('clientSecretEnv naming an AUTH_ variable, or one that is not set', () => {
    assert.throws(() => loadConfig(full({ clientId: 'gate', clientSecretEnv: 'AUTH_INTROSPECTION_SECRET' })), naming(where, /clientSecretEnv names AUTH_INTROSPECTION_SECRET; use a variable outside AUTH_/));
    assert.throws(() => loadConfig(full({ clientId: 'gate', clientSecretEnv: 'GATE_UNSET_SECRET' })), naming(where, /clientSecretEnv names GATE_UNSET_SECRET, which is not set/));
    assert.throws(() => loadConfig(full({ clientId: 'gate', clientSecretEnv: 'GATE_EMPTY' }, [], {}, { GATE_EMPTY: '' })), naming(where, /which is not set/));
  });

  it('an http endpoint for a remote host; an unknown "tokens"; an unsupported authMethod', () => {
    assert.throws(() => loadConfig(full({ ...INTROSPECTION, endpoint: 'http://issuer.example.com/introspect' })), naming(`${where}.endpoint`, /must use https/));
    assert.throws(() => loadConfig(full({ ...INTROSPECTION, endpoint: 42 })), naming(`${where}.endpoint`, /not an absolute URL/));
    assert.throws(() => loadConfig(full({ ...INTROSPECTION, tokens: 'jwt' })), naming(`${where}.tokens`, /"opaque".*"all"/));
    assert.throws(() => loadConfig(full({ ...INTROSPECTION, authMethod: 'tls_client_auth' })), naming(`${where}.authMethod`, /client_secret_basic/));
  });

  it('auth0, cognito and entra issuers have no introspection endpoint', () => {
    for (const profile of ['auth0', 'cognito', 'entra']) {
      assert.throws(() => loadConfig(full(INTROSPECTION, [], { profile })), naming(where, new RegExp(`profile is ${profile}.*(no introspection endpoint|/userinfo)`)), profile);
    }
  });

  it('two issuers introspecting', () => {
    assert.throws(
      () => loadConfig(full(INTROSPECTION, [{ issuer: OTHER, profile: 'okta', introspection: { clientId: 'gate-2', clientSecretSsm: '/b' } }])),
      naming('AUTH_ISSUERS', /gives introspection to 2 issuers.*opaque token does not say which issuer.*keep introspection on one/),
    );
  });

  it('AUTH_ISSUERS mixed with AUTH_INTROSPECTION_*', () => {
    assert.throws(() => loadConfig(full(INTROSPECTION, [], {}, { AUTH_INTROSPECTION: 'opaque' })), naming('AUTH_ISSUERS', /is set together with AUTH_INTROSPECTION;.*"introspection": \{…\}/));
    assert.throws(() => loadConfig(full(INTROSPECTION, [], {}, { AUTH_INTROSPECTION_CLIENT_ID: 'gate', AUTH_INTROSPECTION_CLIENT_SECRET: SECRET })), naming('AUTH_ISSUERS', /AUTH_INTROSPECTION_CLIENT_ID, AUTH_INTROSPECTION_CLIENT_SECRET/));
    assert.throws(() => loadConfig({ AUTH_ISSUERS: JSON.stringify([{ issuer: ISSUER }]), AUTH_INTROSPECTION_ENDPOINT: 'https://issuer.example.com/introspect' }), naming('AUTH_ISSUERS', /AUTH_INTROSPECTION_ENDPOINT/));
  });
});
