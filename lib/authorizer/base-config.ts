import { ConfigError } from '../errors.js';
import { type Algorithm, isSupportedAlgorithm, SUPPORTED_ALGORITHMS } from '../jwt/algorithms.js';
import type { TokenVerifierOptions } from '../jwt/token-verifier.js';
import type { MetricsOptions } from '../shared/metrics.js';
import { boolean, type Environment, integer, list } from './env.js';
import { type IssuerConfig, parseTrustedIssuers } from './issuers-config.js';
import type { RevocationOptions } from '../revocation/revocation-refresher.js';
import type { IntrospectionOptions } from '../introspection/token-introspector.js';
import { INTROSPECTION_OPTION_VARIABLES, INTROSPECTION_VARIABLES } from './introspection-variables.js';
import { DPOP_DEFAULTS, DPOP_VARIABLES, type DpopConfig } from './dpop-defaults.js';

export type { Environment } from './env.js';

/** Whether any introspection setting is given: then applyIntrospection must read (and check) them. */
export function introspectionRequested(env: Environment, issuers: readonly IssuerConfig[]): boolean {
  return [...INTROSPECTION_VARIABLES, ...INTROSPECTION_OPTION_VARIABLES].some((name) => env[name]?.trim()) || issuers.some(({ introspectionSettings }) => introspectionSettings !== undefined);
}
export type { IssuerConfig } from './issuers-config.js';

/** The verifier's options, and what only the authorizer's handler uses. */
export interface AuthorizerConfig extends TokenVerifierOptions {
  issuers: IssuerConfig[];
  algorithms: Algorithm[];
  jwksSnapshot: Map<string, unknown>;
  /** Start fetching each issuer's JWKS (those without a snapshot) at init, not at the first request. */
  jwksPrefetch: boolean;
  /** CloudWatch metrics (EMF) on the decision log lines. */
  metrics: MetricsOptions;
  /** Revocation across the fleet; undefined when AUTH_REVOCATION_TABLE is unset (off). */
  revocation: RevocationConfig | undefined;
  /** Introspection's timing and sizes; undefined when no issuer introspects. */
  introspection: IntrospectionOptions | undefined;
  /** DPoP proofs (RFC 9449): always accepted; these say how they are checked. */
  dpop: DpopConfig;
}

export interface RevocationConfig extends Omit<RevocationOptions, 'maxTokenLifetimeSeconds'> {
  tableName: string;
  /** A local DynamoDB endpoint (dynalite); undefined on AWS. */
  endpoint: string | undefined;
}

const DEFAULTS = {
  algorithms: SUPPORTED_ALGORITHMS,
  clockToleranceSeconds: 5,
  // Auth0's longest access-token lifetime; Cognito, Okta and Entra ID stop at a day.
  maxTokenLifetimeSeconds: 2_592_000,
  maxTokenBytes: 8192,
  jwksCooldownSeconds: 30,
  jwksTimeoutMs: 3000,
  jwksMaxResponseBytes: 65536,
  jwksMaxAgeSeconds: 600,
  decisionCacheSize: 1000,
  jwksPrefetch: true,
} as const;

function parseAlgorithms(env: Environment): Algorithm[] {
  const raw = env['AUTH_ALGORITHMS'];
  if (raw === undefined || raw.trim() === '') return [...DEFAULTS.algorithms];
  const algorithms = list(raw);
  for (const alg of algorithms) {
    if (!isSupportedAlgorithm(alg)) {
      throw new ConfigError('AUTH_ALGORITHMS', `"${alg}" is not supported; choose from ${SUPPORTED_ALGORITHMS.join(', ')} (none and HS* are never accepted: a shared secret cannot be published in a JWKS)`);
    }
  }
  if (algorithms.length === 0) throw new ConfigError('AUTH_ALGORITHMS', 'lists no algorithm');
  return algorithms as Algorithm[];
}

/**
 * AUTH_JWKS_SNAPSHOT: a JWKS (one issuer) or an object of JWKS by issuer (several), as JSON.
 * Only the shape is checked here; the keys get the same checks as fetched ones when loaded.
 */
function parseSnapshot(env: Environment, issuers: IssuerConfig[]): Map<string, unknown> {
  const variable = 'AUTH_JWKS_SNAPSHOT';
  const raw = env[variable];
  const snapshot = new Map<string, unknown>();
  if (raw === undefined || raw.trim() === '') return snapshot;
  let document: unknown;
  try {
    document = JSON.parse(raw);
  } catch {
    throw new ConfigError(variable, 'is not valid JSON; give the JWKS document, e.g. {"keys":[…]}, or unset it');
  }
  const isJwks = (value: unknown): boolean => typeof value === 'object' && value !== null && Array.isArray((value as Record<string, unknown>)['keys']);
  if (isJwks(document)) {
    if (issuers.length !== 1) throw new ConfigError(variable, 'holds one JWKS but there are several trusted issuers; give {"<issuer>": {"keys": […]}, …}');
    snapshot.set(issuers[0]!.issuer, document);
    return snapshot;
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new ConfigError(variable, 'must be a JWKS ({"keys":[…]}) or an object of JWKS by issuer');
  }
  for (const [issuer, jwks] of Object.entries(document)) {
    if (!issuers.some((item) => item.issuer === issuer)) throw new ConfigError(variable, `names "${issuer}", which is not a trusted issuer (AUTH_ISSUER or AUTH_ISSUERS)`);
    if (!isJwks(jwks)) throw new ConfigError(variable, `the entry for "${issuer}" is not a JWKS ({"keys":[…]})`);
    snapshot.set(issuer, jwks);
  }
  return snapshot;
}

/** Ours first, then Powertools' variable of the same meaning, so either convention works. */
function firstSet(env: Environment, ...names: string[]): string {
  return names.find((name) => env[name] !== undefined && env[name].trim() !== '') ?? names[0]!;
}

function metricsNamespace(env: Environment): string {
  const variable = firstSet(env, 'AUTH_METRICS_NAMESPACE', 'POWERTOOLS_METRICS_NAMESPACE');
  const value = env[variable]?.trim() || 'bearer-gate';
  // CloudWatch: 1 to 255 characters, no colon-leading "AWS/" namespace.
  if (!/^[A-Za-z0-9._/#: -]{1,255}$/.test(value) || value.startsWith('AWS/')) {
    throw new ConfigError(variable, `"${value}" is not a CloudWatch namespace you may use (letters, digits, . _ / # : - and spaces; not AWS/…)`);
  }
  return value;
}

function metricsEnabled(env: Environment): boolean {
  if (firstSet(env, 'AUTH_METRICS', 'POWERTOOLS_METRICS_DISABLED') === 'POWERTOOLS_METRICS_DISABLED') {
    return !boolean(env, 'POWERTOOLS_METRICS_DISABLED', false);
  }
  const value = env['AUTH_METRICS']?.trim().toLowerCase();
  if (value === 'refusals') return true;
  if (value !== undefined && value !== '' && !['true', 'false', '1', '0'].includes(value)) {
    throw new ConfigError('AUTH_METRICS', `"${env['AUTH_METRICS']}" is not true, false or refusals (metrics on refused decisions only)`);
  }
  return boolean(env, 'AUTH_METRICS', true);
}

function revocationConfig(env: Environment): RevocationConfig | undefined {
  const tableName = env['AUTH_REVOCATION_TABLE']?.trim();
  const others = ['AUTH_REVOCATION_REFRESH_SECONDS', 'AUTH_REVOCATION_MAX_STALENESS_SECONDS', 'AUTH_REVOCATION_FAIL_OPEN', 'AUTH_REVOCATION_ENDPOINT', 'AUTH_REVOCATION_TIMEOUT_MS'];
  if (tableName === undefined || tableName === '') {
    const stray = others.find((name) => env[name]?.trim());
    if (stray !== undefined) throw new ConfigError(stray, 'is set but AUTH_REVOCATION_TABLE is not: set the table name to turn revocation on, or unset this');
    return undefined;
  }
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(tableName)) throw new ConfigError('AUTH_REVOCATION_TABLE', `"${tableName}" is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -)`);
  const refreshSeconds = integer(env, 'AUTH_REVOCATION_REFRESH_SECONDS', 5, 1, 300);
  const maxStalenessSeconds = integer(env, 'AUTH_REVOCATION_MAX_STALENESS_SECONDS', 60, 1, 86_400);
  if (maxStalenessSeconds < refreshSeconds) {
    throw new ConfigError('AUTH_REVOCATION_MAX_STALENESS_SECONDS', `${maxStalenessSeconds} is below AUTH_REVOCATION_REFRESH_SECONDS (${refreshSeconds}): the list would go stale between two refreshes`);
  }
  const endpoint = env['AUTH_REVOCATION_ENDPOINT']?.trim() || undefined;
  if (endpoint !== undefined && !/^https?:\/\//.test(endpoint)) throw new ConfigError('AUTH_REVOCATION_ENDPOINT', `"${endpoint}" is not an http(s) URL (only the local stack sets it)`);
  return {
    tableName,
    endpoint,
    refreshSeconds,
    maxStalenessSeconds,
    failOpen: boolean(env, 'AUTH_REVOCATION_FAIL_OPEN', false),
    // At most 1 s: the cold-start load may take four of them, under the authorizer's 5 s timeout.
    timeoutMs: integer(env, 'AUTH_REVOCATION_TIMEOUT_MS', 1000, 50, 1000),
  };
}

/** Every variable of ours: an AUTH_ name that is not one of them is a typo, refused (it could drop a check). */
const KNOWN_VARIABLES = new Set([
  'AUTH_ISSUER', 'AUTH_ISSUERS', 'AUTH_JWKS_URI', 'AUTH_ISSUER_PROFILE', 'AUTH_ALGORITHMS', 'AUTH_CLOCK_TOLERANCE_SECONDS',
  'AUTH_MAX_TOKEN_LIFETIME_SECONDS', 'AUTH_SCOPE_CLAIMS', 'AUTH_REQUIRE_AT_JWT', 'AUTH_REQUIRE_LOW_S', 'AUTH_MAX_TOKEN_BYTES',
  'AUTH_JWKS_COOLDOWN_SECONDS', 'AUTH_JWKS_TIMEOUT_MS', 'AUTH_JWKS_MAX_BYTES', 'AUTH_JWKS_MAX_AGE_SECONDS', 'AUTH_JWKS_SNAPSHOT',
  'AUTH_JWKS_PREFETCH', 'AUTH_DECISION_CACHE_SIZE', 'AUTH_LOG_LEVEL', 'AUTH_METRICS', 'AUTH_METRICS_NAMESPACE',
  'AUTH_REVOCATION_TABLE', 'AUTH_REVOCATION_REFRESH_SECONDS', 'AUTH_REVOCATION_MAX_STALENESS_SECONDS', 'AUTH_REVOCATION_FAIL_OPEN',
  'AUTH_REVOCATION_TIMEOUT_MS', 'AUTH_REVOCATION_ENDPOINT', ...INTROSPECTION_VARIABLES, ...INTROSPECTION_OPTION_VARIABLES, ...DPOP_VARIABLES,
]);

/** How many single-character edits turn one name into the other. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

function refuseUnknownVariables(env: Environment): void {
  for (const name of Object.keys(env)) {
    if (!name.startsWith('AUTH_') || KNOWN_VARIABLES.has(name)) continue;
    const closest = [...KNOWN_VARIABLES].sort((a, b) => distance(name, a) - distance(name, b))[0]!;
    const hint = name === 'AUTH_AUDIENCE' ? 'audiences are in the route table (routes.json), per API' : `did you mean ${closest}?`;
    throw new ConfigError(name, `is not a setting of the authorizer (${hint}); a misspelt name would silently drop the check it meant to set`);
  }
}

/**
 * Everything but introspection, whose settings are read by applyIntrospection (introspection-config.ts)
 * when introspectionRequested says so: that code is a chunk the handler loads only then. loadConfig
 * (config.ts) does both at once. Throws ConfigError naming the variable.
 */
export function loadBaseConfig(env: Environment): AuthorizerConfig {
  refuseUnknownVariables(env);
  const issuers = parseTrustedIssuers(env);
  const clockToleranceSeconds = integer(env, 'AUTH_CLOCK_TOLERANCE_SECONDS', DEFAULTS.clockToleranceSeconds, 0, 300);
  const maxTokenLifetimeSeconds = integer(env, 'AUTH_MAX_TOKEN_LIFETIME_SECONDS', DEFAULTS.maxTokenLifetimeSeconds, 60, 31_536_000);
  return {
    issuers,
    algorithms: parseAlgorithms(env),
    clockToleranceSeconds,
    maxTokenLifetimeSeconds,
    maxTokenBytes: integer(env, 'AUTH_MAX_TOKEN_BYTES', DEFAULTS.maxTokenBytes, 512, 65536),
    requireLowS: boolean(env, 'AUTH_REQUIRE_LOW_S', false),
    jwks: {
      cooldownSeconds: integer(env, 'AUTH_JWKS_COOLDOWN_SECONDS', DEFAULTS.jwksCooldownSeconds, 0, 30),
      timeoutMs: integer(env, 'AUTH_JWKS_TIMEOUT_MS', DEFAULTS.jwksTimeoutMs, 50, 10000),
      maxResponseBytes: integer(env, 'AUTH_JWKS_MAX_BYTES', DEFAULTS.jwksMaxResponseBytes, 1024, 1048576),
      maxAgeSeconds: integer(env, 'AUTH_JWKS_MAX_AGE_SECONDS', DEFAULTS.jwksMaxAgeSeconds, 30, 86400),
    },
    decisionCacheSize: integer(env, 'AUTH_DECISION_CACHE_SIZE', DEFAULTS.decisionCacheSize, 0, 100000),
    jwksSnapshot: parseSnapshot(env, issuers),
    jwksPrefetch: boolean(env, 'AUTH_JWKS_PREFETCH', DEFAULTS.jwksPrefetch),
    metrics: {
      enabled: metricsEnabled(env),
      // AUTH_METRICS=refusals: allowed decisions' lines carry no EMF, so Decisions counts refusals only.
      refusalsOnly: env['AUTH_METRICS']?.trim().toLowerCase() === 'refusals',
      namespace: metricsNamespace(env),
    },
    revocation: revocationConfig(env),
    // Read by introspection-config.ts (applyIntrospection), loaded only when introspection is asked for.
    introspection: undefined,
    // The defaults; set AUTH_DPOP_* are read by dpopConfig (dpop-config.ts), loaded only then.
    dpop: DPOP_DEFAULTS,
  };
}
