/**
 * loadConfig's DPoP settings (AUTH_DPOP_*, lib/authorizer/dpop-config.ts): defaults, and every
 * mistake refused at cold start with a ConfigError naming the variable.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Environment, loadConfig } from '../../../lib/authorizer/config.js';
import { ConfigError } from '../../../lib/errors.js';
import { SUPPORTED_ALGORITHMS } from '../../../lib/jwt/algorithms.js';

const BASE = { AUTH_ISSUER: 'https://issuer.example/', AUTH_JWKS_URI: 'https://issuer.example/jwks' };
const dpop = (env: Environment) => loadConfig({ ...BASE, ...env }).dpop;
const TABLE = { AUTH_DPOP_REPLAY_TABLE: 'dpop-replay' };

function refuses(env: Environment, variable: string, message?: RegExp): void {
  assert.throws(() => dpop(env), (error: unknown) => {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.variable, variable);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  }, JSON.stringify(env));
}

describe('AUTH_DPOP_* defaults', () => {
  it('every supported algorithm, a 300 s window, the event\'s URL, memory-only replay protection', () => {
    assert.deepEqual(dpop({}), {
      algorithms: [...SUPPORTED_ALGORITHMS],
      iatWindowSeconds: 300,
      onAllRoutes: false,
      publicOrigin: undefined,
      basePath: undefined,
      replay: { tableName: undefined, endpoint: undefined, containerOnlyWhenStoreDown: false, timeoutMs: 500, cacheSize: 10_000 },
    });
  });

  it('AUTH_DPOP_ON_ALL_ROUTES: off by default, true or false, nothing else', () => {
    assert.equal(dpop({ AUTH_DPOP_ON_ALL_ROUTES: 'true' }).onAllRoutes, true);
    assert.equal(dpop({ AUTH_DPOP_ON_ALL_ROUTES: 'false' }).onAllRoutes, false);
    refuses({ AUTH_DPOP_ON_ALL_ROUTES: 'yes' }, 'AUTH_DPOP_ON_ALL_ROUTES');
  });

  it('blank values are the defaults', () => {
    const config = dpop({ AUTH_DPOP_ALGORITHMS: '', AUTH_DPOP_PUBLIC_ORIGIN: '  ', AUTH_DPOP_BASE_PATH: '', AUTH_DPOP_REPLAY_TABLE: ' ', AUTH_DPOP_IAT_WINDOW_SECONDS: '' });
    assert.deepEqual(config, dpop({}));
  });

  it('a table turns the fleet-wide store on, with its options', () => {
    assert.deepEqual(dpop({ ...TABLE, AUTH_DPOP_REPLAY_ENDPOINT: 'http://127.0.0.1:8000', AUTH_DPOP_REPLAY_CONTAINER_ONLY: 'true', AUTH_DPOP_REPLAY_TIMEOUT_MS: '250', AUTH_DPOP_REPLAY_CACHE_SIZE: '500' }).replay, {
      tableName: 'dpop-replay', endpoint: 'http://127.0.0.1:8000', containerOnlyWhenStoreDown: true, timeoutMs: 250, cacheSize: 500,
    });
  });
});

describe('AUTH_DPOP_ALGORITHMS', () => {
  it('a list of supported algorithms narrows what proofs may use', () => {
    assert.deepEqual(dpop({ AUTH_DPOP_ALGORITHMS: 'ES256, EdDSA' }).algorithms, ['ES256', 'EdDSA']);
  });

  it('none, HS*, unknown names and wrong case are refused', () => {
    for (const value of ['none', 'HS256', 'ES256,HS512', 'es256', 'ES256K', 'RSA-OAEP']) {
      refuses({ AUTH_DPOP_ALGORITHMS: value }, 'AUTH_DPOP_ALGORITHMS', /is not supported; choose from .*never none or HS\*/);
    }
  });

  it('a value that lists no algorithm (",") is refused, as AUTH_ALGORITHMS refuses it', () => {
    refuses({ AUTH_DPOP_ALGORITHMS: ',' }, 'AUTH_DPOP_ALGORITHMS');
    refuses({ AUTH_DPOP_ALGORITHMS: ' , ' }, 'AUTH_DPOP_ALGORITHMS');
  });

  it('a misspelt DPoP variable is refused, not ignored', () => {
    refuses({ AUTH_DPOP_ALGORITHM: 'ES256' }, 'AUTH_DPOP_ALGORITHM', /did you mean AUTH_DPOP_ALGORITHMS/);
    refuses({ AUTH_DPOP_REPLAY_TABLES: 'x-table' }, 'AUTH_DPOP_REPLAY_TABLES', /AUTH_DPOP_REPLAY_TABLE/);
  });
});

describe('AUTH_DPOP_PUBLIC_ORIGIN', () => {
  it('an origin is accepted, given as the URL API serialises it (lower-case host, no default port)', () => {
    assert.equal(dpop({ AUTH_DPOP_PUBLIC_ORIGIN: 'https://api.example.com' }).publicOrigin, 'https://api.example.com');
    assert.equal(dpop({ AUTH_DPOP_PUBLIC_ORIGIN: 'HTTPS://API.Example.COM' }).publicOrigin, 'https://api.example.com');
    assert.equal(dpop({ AUTH_DPOP_PUBLIC_ORIGIN: 'https://api.example.com:443' }).publicOrigin, 'https://api.example.com');
    assert.equal(dpop({ AUTH_DPOP_PUBLIC_ORIGIN: 'https://api.example.com:8443' }).publicOrigin, 'https://api.example.com:8443');
    assert.equal(dpop({ AUTH_DPOP_PUBLIC_ORIGIN: 'http://localhost:3000' }).publicOrigin, 'http://localhost:3000');
    assert.equal(dpop({ AUTH_DPOP_PUBLIC_ORIGIN: ' https://api.example.com ' }).publicOrigin, 'https://api.example.com');
  });

  it('a path, a trailing slash, a query, a fragment, another scheme or no scheme is refused', () => {
    for (const value of ['https://api.example.com/', 'https://api.example.com/v1', 'https://api.example.com/v1/', 'https://api.example.com?x=1', 'https://api.example.com/?x=1', 'https://api.example.com#top', 'ftp://api.example.com', 'wss://api.example.com', 'api.example.com', '//api.example.com', 'not a url']) {
      refuses({ AUTH_DPOP_PUBLIC_ORIGIN: value }, 'AUTH_DPOP_PUBLIC_ORIGIN', /is not an origin: give scheme and host only/);
    }
  });
});

describe('AUTH_DPOP_BASE_PATH', () => {
  it('one or more segments with a leading slash are accepted', () => {
    for (const value of ['/v1', '/v1/beta', '/api-v2', '/a.b_c~d', '/%7Euser']) {
      assert.equal(dpop({ AUTH_DPOP_BASE_PATH: value }).basePath, value);
    }
  });

  it('no leading slash, a trailing slash, "/" alone, an empty segment, spaces, a query or a fragment is refused', () => {
    for (const value of ['v1', '/v1/', '/', '//v1', '/v1//beta', '/v 1', '/v1?x=1', '/v1#x', 'https://api.example.com/v1']) {
      refuses({ AUTH_DPOP_BASE_PATH: value }, 'AUTH_DPOP_BASE_PATH', /is not a base path: give it as \/v1/);
    }
  });
});

describe('AUTH_DPOP_REPLAY_*', () => {
  it('the store\'s options without a table are refused, naming the option', () => {
    refuses({ AUTH_DPOP_REPLAY_ENDPOINT: 'http://127.0.0.1:8000' }, 'AUTH_DPOP_REPLAY_ENDPOINT', /AUTH_DPOP_REPLAY_TABLE is not/);
    refuses({ AUTH_DPOP_REPLAY_CONTAINER_ONLY: 'true' }, 'AUTH_DPOP_REPLAY_CONTAINER_ONLY', /AUTH_DPOP_REPLAY_TABLE is not/);
    refuses({ AUTH_DPOP_REPLAY_CONTAINER_ONLY: 'false' }, 'AUTH_DPOP_REPLAY_CONTAINER_ONLY');
    refuses({ AUTH_DPOP_REPLAY_TIMEOUT_MS: '300' }, 'AUTH_DPOP_REPLAY_TIMEOUT_MS', /AUTH_DPOP_REPLAY_TABLE is not/);
  });

  it('the memory cache size needs no table (it is the container\'s own memory)', () => {
    assert.equal(dpop({ AUTH_DPOP_REPLAY_CACHE_SIZE: '2000' }).replay.cacheSize, 2000);
  });

  it('a table name DynamoDB would refuse is refused', () => {
    for (const value of ['ab', 'bad name', 'a/b', 'tábla', 'x'.repeat(256), 'arn:aws:dynamodb:eu-west-1:1:table/t']) {
      refuses({ AUTH_DPOP_REPLAY_TABLE: value }, 'AUTH_DPOP_REPLAY_TABLE', /is not a DynamoDB table name/);
    }
    assert.equal(dpop({ AUTH_DPOP_REPLAY_TABLE: 'x'.repeat(255) }).replay.tableName, 'x'.repeat(255));
    assert.equal(dpop({ AUTH_DPOP_REPLAY_TABLE: 'a.b-c_1' }).replay.tableName, 'a.b-c_1');
  });

  it('an endpoint that is not an http(s) URL is refused', () => {
    for (const value of ['localhost:8000', 'ftp://127.0.0.1', 'dynamodb']) {
      refuses({ ...TABLE, AUTH_DPOP_REPLAY_ENDPOINT: value }, 'AUTH_DPOP_REPLAY_ENDPOINT', /is not an http\(s\) URL/);
    }
  });

  it('AUTH_DPOP_REPLAY_CONTAINER_ONLY takes true/false/1/0 only', () => {
    assert.equal(dpop({ ...TABLE, AUTH_DPOP_REPLAY_CONTAINER_ONLY: '1' }).replay.containerOnlyWhenStoreDown, true);
    assert.equal(dpop({ ...TABLE, AUTH_DPOP_REPLAY_CONTAINER_ONLY: 'FALSE' }).replay.containerOnlyWhenStoreDown, false);
    for (const value of ['yes', 'on', 'sometimes']) refuses({ ...TABLE, AUTH_DPOP_REPLAY_CONTAINER_ONLY: value }, 'AUTH_DPOP_REPLAY_CONTAINER_ONLY', /is not true or false/);
  });
});

describe('the bounds of the integers', () => {
  const cases: { variable: string; min: number; max: number; env?: Environment; read: (config: ReturnType<typeof dpop>) => number }[] = [
    { variable: 'AUTH_DPOP_IAT_WINDOW_SECONDS', min: 5, max: 3600, read: (config) => config.iatWindowSeconds },
    { variable: 'AUTH_DPOP_REPLAY_TIMEOUT_MS', min: 50, max: 2000, env: TABLE, read: (config) => config.replay.timeoutMs },
    { variable: 'AUTH_DPOP_REPLAY_CACHE_SIZE', min: 100, max: 1_000_000, read: (config) => config.replay.cacheSize },
  ];
  for (const { variable, min, max, env = {}, read } of cases) {
    it(`${variable}: ${min} and ${max} accepted; below, above, fractions and words refused`, () => {
      assert.equal(read(dpop({ ...env, [variable]: String(min) })), min);
      assert.equal(read(dpop({ ...env, [variable]: String(max) })), max);
      for (const value of [String(min - 1), String(max + 1), `${min}.5`, 'ten', '-1', '1e9', 'Infinity']) {
        refuses({ ...env, [variable]: value }, variable, /is not a whole number from/);
      }
    });
  }
});

describe('the defaults the base configuration uses when no AUTH_DPOP_* is set', () => {
  it('are what dpopConfig reads from an empty environment (the handler loads dpopConfig only when one is set)', async () => {
    const { DPOP_DEFAULTS } = await import('../../../lib/authorizer/dpop-defaults.js');
    const { dpopConfig } = await import('../../../lib/authorizer/dpop-config.js');
    assert.deepEqual(DPOP_DEFAULTS, dpopConfig({}));
  });
});
