/** DPoP (RFC 9449) settings: the proof rules, the request URL, and the replay store. */
import { ConfigError } from '../errors.js';
import { type Algorithm, isSupportedAlgorithm, SUPPORTED_ALGORITHMS } from '../jwt/algorithms.js';
import { boolean, type Environment, integer, list } from './env.js';

import type { DpopConfig } from './dpop-defaults.js';

export { DPOP_VARIABLES, type DpopConfig } from './dpop-defaults.js';

function origin(env: Environment): string | undefined {
  const value = env['AUTH_DPOP_PUBLIC_ORIGIN']?.trim();
  if (value === undefined || value === '') return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search !== '' || url.hash !== '' || value.endsWith('/')) {
    throw new ConfigError('AUTH_DPOP_PUBLIC_ORIGIN', `"${value}" is not an origin: give scheme and host only, e.g. https://api.example.com (a base path goes in AUTH_DPOP_BASE_PATH)`);
  }
  return url.origin;
}

function basePath(env: Environment): string | undefined {
  const value = env['AUTH_DPOP_BASE_PATH']?.trim();
  if (value === undefined || value === '') return undefined;
  if (!/^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/.test(value)) {
    throw new ConfigError('AUTH_DPOP_BASE_PATH', `"${value}" is not a base path: give it as /v1 (leading slash, no trailing slash), or unset it to use the path API Gateway reports`);
  }
  return value;
}

export function dpopConfig(env: Environment): DpopConfig {
  const names = list(env['AUTH_DPOP_ALGORITHMS'] ?? '');
  // Set but empty (",") must not mean "all of them": the operator meant to narrow the list.
  if (names.length === 0 && (env['AUTH_DPOP_ALGORITHMS'] ?? '').trim() !== '') throw new ConfigError('AUTH_DPOP_ALGORITHMS', 'lists no algorithm; name at least one (e.g. ES256) or unset it for every supported one');
  for (const name of names) {
    if (!isSupportedAlgorithm(name)) throw new ConfigError('AUTH_DPOP_ALGORITHMS', `"${name}" is not supported; choose from ${SUPPORTED_ALGORITHMS.join(', ')} (a proof is signed with the client's private key: never none or HS*)`);
  }
  const tableName = env['AUTH_DPOP_REPLAY_TABLE']?.trim() || undefined;
  if (tableName !== undefined && !/^[A-Za-z0-9_.-]{3,255}$/.test(tableName)) throw new ConfigError('AUTH_DPOP_REPLAY_TABLE', `"${tableName}" is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -)`);
  if (tableName === undefined) {
    const stray = ['AUTH_DPOP_REPLAY_ENDPOINT', 'AUTH_DPOP_REPLAY_CONTAINER_ONLY', 'AUTH_DPOP_REPLAY_TIMEOUT_MS'].find((name) => env[name]?.trim());
    if (stray !== undefined) throw new ConfigError(stray, 'is set but AUTH_DPOP_REPLAY_TABLE is not: name the replay table, or unset this');
  }
  const endpoint = env['AUTH_DPOP_REPLAY_ENDPOINT']?.trim() || undefined;
  if (endpoint !== undefined && !/^https?:\/\//.test(endpoint)) throw new ConfigError('AUTH_DPOP_REPLAY_ENDPOINT', `"${endpoint}" is not an http(s) URL (only the local stack sets it)`);
  return {
    algorithms: names.length > 0 ? (names as Algorithm[]) : [...SUPPORTED_ALGORITHMS],
    iatWindowSeconds: integer(env, 'AUTH_DPOP_IAT_WINDOW_SECONDS', 300, 5, 3600),
    onAllRoutes: boolean(env, 'AUTH_DPOP_ON_ALL_ROUTES', false),
    publicOrigin: origin(env),
    basePath: basePath(env),
    replay: {
      tableName,
      endpoint,
      containerOnlyWhenStoreDown: boolean(env, 'AUTH_DPOP_REPLAY_CONTAINER_ONLY', false),
      timeoutMs: integer(env, 'AUTH_DPOP_REPLAY_TIMEOUT_MS', 500, 50, 2000),
      cacheSize: integer(env, 'AUTH_DPOP_REPLAY_CACHE_SIZE', 10_000, 100, 1_000_000),
    },
  };
}
