/**
 * Introspection (RFC 7662), per issuer, in the two forms issuers take: AUTH_INTROSPECTION_*
 * beside AUTH_ISSUER (one issuer), or an "introspection" object in an AUTH_ISSUERS entry.
 */
import { ConfigError } from '../errors.js';
import { isAllowedKeyUrl } from '../jwt/key-url.js';
import type { ProfileName } from '../jwt/issuer-profile.js';
import type { ClientSecretSource } from '../introspection/client-secret.js';
import type { ClientAuthMethod, IntrospectionClient, IntrospectionOptions } from '../introspection/token-introspector.js';
import { type Environment, integer, isSet } from './env.js';
import type { AuthorizerConfig, IssuerConfig } from './base-config.js';
import { INTROSPECTION_OPTION_VARIABLES, INTROSPECTION_VARIABLES } from './introspection-variables.js';

export { INTROSPECTION_OPTION_VARIABLES, INTROSPECTION_VARIABLES } from './introspection-variables.js';

/** What an issuer entry needs to say about itself for its introspection to be read. */
export interface IntrospectingIssuer {
  issuer: string;
  profileName: ProfileName;
}

// Providers without an RFC 7662 endpoint: configuring one is a mistake worth stopping at cold start.
const NO_INTROSPECTION: Partial<Record<ProfileName, string>> = {
  auth0: 'Auth0 has no introspection endpoint: its opaque access tokens are only for its own /userinfo; request tokens with an audience to get JWTs',
  cognito: 'Cognito user pools have no introspection endpoint, and their access tokens are JWTs',
  entra: 'Entra ID has no introspection endpoint, and the access tokens it issues for your APIs are JWTs',
};

const ENTRY_KEYS = new Set(['tokens', 'endpoint', 'clientId', 'clientSecretEnv', 'clientSecretSsm', 'clientSecretArn', 'authMethod']);

function tokensOf(where: string, value: unknown): 'opaque' | 'all' {
  if (value === 'opaque' || value === 'all') return value;
  throw new ConfigError(where, `${JSON.stringify(value)} is not a choice: "opaque" (tokens that are not JWTs are introspected) or "all" (JWTs too)`);
}

function authMethodOf(where: string, value: unknown): ClientAuthMethod {
  if (value === undefined || value === 'client_secret_basic' || value === 'client_secret_post') return (value as ClientAuthMethod | undefined) ?? 'client_secret_basic';
  throw new ConfigError(where, `${JSON.stringify(value)} is not supported; use client_secret_basic (the default) or client_secret_post`);
}

function endpointOf(where: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined) throw new ConfigError(where, `${JSON.stringify(value)} is not an absolute URL; give it as https://host/path, or leave it out for discovery`);
  // The JWKS URL's rule: https, or plain http to this machine only.
  if (!isAllowedKeyUrl(url)) throw new ConfigError(where, `"${String(value)}" must use https: the token and the client secret travel to it (plain http only for localhost)`);
  return String(value);
}

/** Exactly one source for the secret. */
function secretOf(where: string, sources: { value?: unknown; env?: unknown; ssm?: unknown; arn?: unknown }, names: { value?: string; env?: string; ssm: string; arn: string }, env: Environment): ClientSecretSource {
  const given = Object.entries(sources).filter(([, value]) => value !== undefined && value !== '');
  const all = Object.values(names).filter((name) => name !== undefined).join(', ');
  if (given.length !== 1) throw new ConfigError(where, `needs exactly one client secret source (${all}); ${given.length === 0 ? 'none is' : 'several are'} set`);
  const [kind, value] = given[0]!;
  if (typeof value !== 'string') throw new ConfigError(where, `${names[kind as keyof typeof names] ?? kind} must be a string`);
  if (kind === 'ssm') return { kind: 'ssm', name: value };
  if (kind === 'arn') return { kind: 'secretsmanager', id: value };
  if (kind === 'env') {
    if (value.startsWith('AUTH_')) throw new ConfigError(where, `clientSecretEnv names ${value}; use a variable outside AUTH_ (those are the authorizer's settings)`);
    const secret = env[value];
    if (secret === undefined || secret === '') throw new ConfigError(where, `clientSecretEnv names ${value}, which is not set`);
    return { kind: 'value', value: secret };
  }
  return { kind: 'value', value };
}

function refuseProfile(where: string, { issuer, profileName }: IntrospectingIssuer): void {
  const why = NO_INTROSPECTION[profileName];
  if (why !== undefined) throw new ConfigError(where, `introspection is configured for ${issuer}, whose profile is ${profileName}: ${why}`);
}

/** AUTH_INTROSPECTION_* for the one issuer of the simple form; undefined when AUTH_INTROSPECTION is unset. */
export function simpleFormIntrospection(env: Environment, issuers: readonly IntrospectingIssuer[]): Omit<IntrospectionClient, 'profile'> & { tokens: 'opaque' | 'all' } | undefined {
  if (!isSet(env, 'AUTH_INTROSPECTION')) {
    const stray = INTROSPECTION_VARIABLES.find((name) => isSet(env, name));
    if (stray !== undefined) throw new ConfigError(stray, 'is set but AUTH_INTROSPECTION is not: set it to "opaque" (or "all") to turn introspection on, or unset this');
    return undefined;
  }
  if (issuers.length !== 1) throw new ConfigError('AUTH_INTROSPECTION', `applies to one issuer, and AUTH_ISSUER lists ${issuers.length}; describe each issuer's introspection in AUTH_ISSUERS ("introspection": {…})`);
  const issuer = issuers[0]!;
  refuseProfile('AUTH_INTROSPECTION', issuer);
  const clientId = env['AUTH_INTROSPECTION_CLIENT_ID']?.trim();
  if (clientId === undefined || clientId === '') throw new ConfigError('AUTH_INTROSPECTION_CLIENT_ID', 'is required with AUTH_INTROSPECTION: the client the authorizer authenticates as at the introspection endpoint');
  return {
    issuer: issuer.issuer,
    tokens: tokensOf('AUTH_INTROSPECTION', env['AUTH_INTROSPECTION']!.trim()),
    endpoint: endpointOf('AUTH_INTROSPECTION_ENDPOINT', env['AUTH_INTROSPECTION_ENDPOINT']?.trim() || undefined),
    clientId,
    clientSecret: secretOf('AUTH_INTROSPECTION', {
      value: env['AUTH_INTROSPECTION_CLIENT_SECRET'], ssm: env['AUTH_INTROSPECTION_CLIENT_SECRET_SSM']?.trim(), arn: env['AUTH_INTROSPECTION_CLIENT_SECRET_ARN']?.trim(),
    }, { value: 'AUTH_INTROSPECTION_CLIENT_SECRET', ssm: 'AUTH_INTROSPECTION_CLIENT_SECRET_SSM', arn: 'AUTH_INTROSPECTION_CLIENT_SECRET_ARN' }, env),
    authMethod: authMethodOf('AUTH_INTROSPECTION_AUTH_METHOD', env['AUTH_INTROSPECTION_AUTH_METHOD']?.trim() || undefined),
  };
}

/** An AUTH_ISSUERS entry's "introspection" object. */
export function entryIntrospection(where: string, raw: unknown, issuer: IntrospectingIssuer, env: Environment): Omit<IntrospectionClient, 'profile'> & { tokens: 'opaque' | 'all' } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(where, 'must be an object: {"tokens": "opaque", "clientId": "…", "clientSecretSsm": "/path"}');
  }
  const entry = raw as Record<string, unknown>;
  for (const key of Object.keys(entry)) {
    if (!ENTRY_KEYS.has(key)) throw new ConfigError(`${where}.${key}`, `is not a setting of introspection; use ${[...ENTRY_KEYS].join(', ')}`);
  }
  refuseProfile(where, issuer);
  const { clientId } = entry;
  if (typeof clientId !== 'string' || clientId === '') throw new ConfigError(`${where}.clientId`, 'is required: the client the authorizer authenticates as at the introspection endpoint');
  return {
    issuer: issuer.issuer,
    tokens: tokensOf(`${where}.tokens`, entry['tokens'] ?? 'opaque'),
    endpoint: endpointOf(`${where}.endpoint`, entry['endpoint']),
    clientId,
    // No literal secret here: AUTH_ISSUERS is shown wherever the configuration is.
    clientSecret: secretOf(where, { env: entry['clientSecretEnv'], ssm: entry['clientSecretSsm'], arn: entry['clientSecretArn'] }, { env: 'clientSecretEnv', ssm: 'clientSecretSsm', arn: 'clientSecretArn' }, env),
    authMethod: authMethodOf(`${where}.authMethod`, entry['authMethod']),
  };
}

export function refuseMixedIntrospection(env: Environment): void {
  const mixed = INTROSPECTION_VARIABLES.filter((name) => isSet(env, name));
  if (mixed.length > 0) throw new ConfigError('AUTH_ISSUERS', `is set together with ${mixed.join(', ')}; describe introspection in the AUTH_ISSUERS entry ("introspection": {…})`);
}

/** The timing and size settings, shared by every introspecting issuer. */
export function introspectionOptions(env: Environment, common: { clockToleranceSeconds: number; maxTokenLifetimeSeconds: number }): IntrospectionOptions {
  const activeCacheSeconds = integer(env, 'AUTH_INTROSPECTION_CACHE_SECONDS', 60, 0, 3600);
  return {
    // At most 3 s: a cold start may wait for the secret, discovery and the call, within the authorizer's timeout.
    timeoutMs: integer(env, 'AUTH_INTROSPECTION_TIMEOUT_MS', 1500, 50, 3000),
    maxResponseBytes: integer(env, 'AUTH_INTROSPECTION_MAX_BYTES', 16384, 1024, 1048576),
    cacheSize: integer(env, 'AUTH_INTROSPECTION_CACHE_SIZE', 1000, 0, 100000),
    activeCacheSeconds,
    inactiveCacheSeconds: integer(env, 'AUTH_INTROSPECTION_INACTIVE_CACHE_SECONDS', 10, 0, 300),
    staleIfErrorSeconds: integer(env, 'AUTH_INTROSPECTION_STALE_IF_ERROR_SECONDS', 60, 0, 3600),
    ...common,
  };
}

/** The issuer with its introspection attached, when it has one. */
function withClient(issuer: IssuerConfig, introspection: ReturnType<typeof simpleFormIntrospection>): IssuerConfig {
  if (introspection === undefined) return issuer;
  const { tokens, ...client } = introspection;
  return { ...issuer, introspect: tokens, introspection: { ...client, profile: issuer.profile } };
}

/**
 * Reads and checks introspection's settings (both forms) into the configuration: the issuers that
 * introspect, their clients, and the shared options. Throws ConfigError naming the variable.
 */
export function applyIntrospection(config: AuthorizerConfig, env: Environment): AuthorizerConfig {
  const fullForm = isSet(env, 'AUTH_ISSUERS');
  let issuers: IssuerConfig[];
  if (fullForm) {
    refuseMixedIntrospection(env);
    issuers = config.issuers.map((issuer, index) => (issuer.introspectionSettings === undefined ? issuer
      : withClient(issuer, entryIntrospection(`AUTH_ISSUERS[${index}].introspection`, issuer.introspectionSettings, { issuer: issuer.issuer, profileName: issuer.profile.name }, env))));
    const opaque = issuers.filter(({ introspect }) => introspect !== undefined);
    if (opaque.length > 1) {
      throw new ConfigError('AUTH_ISSUERS', `gives introspection to ${opaque.length} issuers (${opaque.map(({ issuer }) => issuer).join(', ')}); an opaque token does not say which issuer it is from, and sending it to each would hand one issuer's token to the others: keep introspection on one`);
    }
  } else {
    const introspection = simpleFormIntrospection(env, config.issuers.map(({ issuer, profile }) => ({ issuer, profileName: profile.name })));
    issuers = config.issuers.map((issuer) => withClient(issuer, introspection));
  }
  if (!issuers.some(({ introspection }) => introspection !== undefined)) {
    const stray = INTROSPECTION_OPTION_VARIABLES.find((name) => env[name]?.trim());
    if (stray !== undefined) throw new ConfigError(stray, 'is set but no issuer introspects tokens (AUTH_INTROSPECTION, or "introspection" in AUTH_ISSUERS): set that up, or unset this');
    return { ...config, issuers };
  }
  const { clockToleranceSeconds, maxTokenLifetimeSeconds } = config;
  return { ...config, issuers, introspection: introspectionOptions(env, { clockToleranceSeconds, maxTokenLifetimeSeconds }) };
}
