import { type Algorithm, isSupportedAlgorithm, SUPPORTED_ALGORITHMS } from './algorithms.js';
import { ConfigError } from './errors.js';
import { SCOPE_CLAIMS, type ScopeClaim } from './scopes.js';

export interface IssuerConfig {
  /** The exact `iss` value tokens carry. Compared byte for byte. */
  issuer: string;
  /** Where this issuer's JWKS lives; undefined means "ask the OpenID discovery document". */
  jwksUri: string | undefined;
}

export interface JwksOptions {
  /** Minimum time between two fetches of one issuer's JWKS, whatever triggers them. */
  cooldownSeconds: number;
  /** Time allowed for one fetch, from connect to the last byte. */
  timeoutMs: number;
  /** Largest JWKS or discovery document accepted. */
  maxResponseBytes: number;
}

export interface AuthorizerConfig {
  issuers: IssuerConfig[];
  algorithms: Algorithm[];
  clockToleranceSeconds: number;
  scopeClaims: ScopeClaim[];
  /** Require the RFC 9068 JOSE header `typ: at+jwt`. */
  requireAccessTokenType: boolean;
  maxTokenBytes: number;
  jwks: JwksOptions;
}

export type Environment = Record<string, string | undefined>;

export const DEFAULTS = {
  algorithms: SUPPORTED_ALGORITHMS,
  clockToleranceSeconds: 5,
  scopeClaims: ['scope'] as ScopeClaim[],
  requireAccessTokenType: false,
  maxTokenBytes: 8192,
  jwksCooldownSeconds: 30,
  jwksTimeoutMs: 3000,
  jwksMaxResponseBytes: 65536,
} as const;

function list(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter((item) => item !== '');
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** https everywhere; plain http only to this machine, for the local stack and tests. */
export function isAllowedKeyUrl(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  // An address literal, not a name: `127.evil.example` is somebody else's host.
  return url.protocol === 'http:' && (LOOPBACK_HOSTS.has(url.hostname) || /^127(\.\d{1,3}){3}$/.test(url.hostname));
}

function parseUrl(variable: string, value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(variable, `"${value}" is not an absolute URL; give the ${what} as https://host/path`);
  }
  if (!isAllowedKeyUrl(url)) {
    throw new ConfigError(variable, `"${value}" must use https (plain http is only accepted for localhost)`);
  }
  return url;
}

function integer(env: Environment, variable: string, fallback: number, min: number, max: number): number {
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(variable, `"${raw}" is not a whole number from ${min} to ${max}; unset it for the default ${fallback}`);
  }
  return value;
}

function boolean(env: Environment, variable: string, fallback: boolean): boolean {
  const raw = env[variable]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(variable, `"${env[variable]}" is not true or false`);
}

function parseIssuers(env: Environment): IssuerConfig[] {
  const issuers = list(env['AUTH_ISSUER'] ?? '');
  if (issuers.length === 0) {
    throw new ConfigError('AUTH_ISSUER', 'is required: set it to the exact "iss" value of your tokens, e.g. https://example.auth0.com/ (several issuers: comma-separated)');
  }
  if (new Set(issuers).size !== issuers.length) {
    throw new ConfigError('AUTH_ISSUER', 'lists the same issuer twice');
  }
  const jwksUris = list(env['AUTH_JWKS_URI'] ?? '');
  if (jwksUris.length > 0 && jwksUris.length !== issuers.length) {
    throw new ConfigError('AUTH_JWKS_URI', `has ${jwksUris.length} URL(s) for ${issuers.length} issuer(s); give one JWKS URL per AUTH_ISSUER entry, in the same order, or unset it to use OpenID discovery`);
  }
  return issuers.map((issuer, index) => {
    const jwksUri = jwksUris[index];
    if (jwksUri !== undefined) {
      parseUrl('AUTH_JWKS_URI', jwksUri, 'JWKS URL');
    } else {
      // Discovery derives a URL from the issuer, so the issuer must be one.
      parseUrl('AUTH_ISSUER', issuer, 'issuer (or set AUTH_JWKS_URI)');
    }
    return { issuer, jwksUri };
  });
}

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

function parseScopeClaims(env: Environment): ScopeClaim[] {
  const raw = env['AUTH_SCOPE_CLAIMS'];
  if (raw === undefined || raw.trim() === '') return [...DEFAULTS.scopeClaims];
  const claims = list(raw);
  for (const claim of claims) {
    if (!(SCOPE_CLAIMS as readonly string[]).includes(claim)) {
      throw new ConfigError('AUTH_SCOPE_CLAIMS', `"${claim}" is not a known scope claim; choose from ${SCOPE_CLAIMS.join(', ')}`);
    }
  }
  return claims as ScopeClaim[];
}

/** Reads and validates the configuration once, at cold start. Throws ConfigError naming the variable. */
export function loadConfig(env: Environment): AuthorizerConfig {
  return {
    issuers: parseIssuers(env),
    algorithms: parseAlgorithms(env),
    clockToleranceSeconds: integer(env, 'AUTH_CLOCK_TOLERANCE_SECONDS', DEFAULTS.clockToleranceSeconds, 0, 300),
    scopeClaims: parseScopeClaims(env),
    requireAccessTokenType: boolean(env, 'AUTH_REQUIRE_AT_JWT', DEFAULTS.requireAccessTokenType),
    maxTokenBytes: integer(env, 'AUTH_MAX_TOKEN_BYTES', DEFAULTS.maxTokenBytes, 512, 65536),
    jwks: {
      cooldownSeconds: integer(env, 'AUTH_JWKS_COOLDOWN_SECONDS', DEFAULTS.jwksCooldownSeconds, 0, 30),
      timeoutMs: integer(env, 'AUTH_JWKS_TIMEOUT_MS', DEFAULTS.jwksTimeoutMs, 50, 10000),
      maxResponseBytes: integer(env, 'AUTH_JWKS_MAX_BYTES', DEFAULTS.jwksMaxResponseBytes, 1024, 1048576),
    },
  };
}
