/**
 * DPoP's settings as the base configuration knows them: their names, and the defaults when none is
 * set. Reading set ones (dpop-config.ts) is a chunk of its own, loaded only then.
 */
import { type Algorithm, SUPPORTED_ALGORITHMS } from '../jwt/algorithms.js';
import type { DpopUrlSettings } from './dpop-request.js';

export const DPOP_VARIABLES = [
  'AUTH_DPOP_ALGORITHMS', 'AUTH_DPOP_IAT_WINDOW_SECONDS', 'AUTH_DPOP_PUBLIC_ORIGIN', 'AUTH_DPOP_BASE_PATH', 'AUTH_DPOP_REPLAY_TABLE',
  'AUTH_DPOP_REPLAY_ENDPOINT', 'AUTH_DPOP_REPLAY_CONTAINER_ONLY', 'AUTH_DPOP_REPLAY_TIMEOUT_MS', 'AUTH_DPOP_REPLAY_CACHE_SIZE',
  'AUTH_DPOP_ON_ALL_ROUTES',
] as const;

export interface DpopConfig extends DpopUrlSettings {
  algorithms: Algorithm[];
  iatWindowSeconds: number;
  /**
   * Whether the DPoP scheme is taken on every route. By default only on the routes of APIs with
   * `requireDpop`, which serverless.yml puts behind an authorizer with caching off: elsewhere API
   * Gateway's result cache (keyed on Authorization alone) would answer a second request with any
   * proof, or none. True only where no route is cached (TTL 0 everywhere; serverless offline).
   */
  onAllRoutes: boolean;
  replay: {
    /** The fleet-wide store; undefined: this container's memory only. */
    tableName: string | undefined;
    endpoint: string | undefined;
    containerOnlyWhenStoreDown: boolean;
    timeoutMs: number;
    cacheSize: number;
  };
}

/** With no AUTH_DPOP_* set. dpopConfig (dpop-config.ts) gives the same for an empty environment. */
export const DPOP_DEFAULTS: DpopConfig = Object.freeze({
  algorithms: [...SUPPORTED_ALGORITHMS],
  iatWindowSeconds: 300,
  onAllRoutes: false,
  publicOrigin: undefined,
  basePath: undefined,
  replay: Object.freeze({ tableName: undefined, endpoint: undefined, containerOnlyWhenStoreDown: false, timeoutMs: 500, cacheSize: 10_000 }),
});

/** Whether any DPoP setting is given: then dpopConfig must read (and check) them. */
export function dpopRequested(env: Readonly<Record<string, string | undefined>>): boolean {
  return DPOP_VARIABLES.some((name) => env[name]?.trim());
}
