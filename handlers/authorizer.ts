import type { APIGatewayAuthorizerResult, Context } from 'aws-lambda';
// The stage's route table: routes.json here and in tests, the stage's file in a build (serverless.yml, esbuild alias).
import routeTableDocument from '#route-table' with { type: 'json' };
import { createAuthorizer } from '../lib/authorizer/authorizer.js';
import { createDecisionLog } from '../lib/authorizer/decision-log.js';
import { introspectionRequested, loadBaseConfig } from '../lib/authorizer/base-config.js';
import { dpopRequested } from '../lib/authorizer/dpop-defaults.js';
import { createLogger, logLevelFromEnv, serviceNameFromEnv } from '../lib/shared/log.js';
import { embeddedMetrics } from '../lib/shared/metrics.js';
import { parseRouteTable } from '../lib/authorizer/route-table.js';
import { TokenVerifier } from '../lib/jwt/token-verifier.js';
import type { RevocationRefresher } from '../lib/revocation/revocation-refresher.js';
import type { TokenIntrospector } from '../lib/introspection/token-introspector.js';
import type { DpopChecker } from '../lib/dpop/dpop-checker.js';

// Cold start: configuration and route table are validated once; a mistake fails the init phase
// loudly (API Gateway answers 500) instead of authorizing anything.
const logger = createLogger({ service: serviceNameFromEnv(process.env, 'bearer-gate-authorizer'), level: logLevelFromEnv(process.env) });
// DPoP's and introspection's settings are read by chunks of their own, loaded only when any is given
// (loadConfig, in config.ts, does the same in one step for tests and tools).
const baseConfig = loadBaseConfig(process.env);
const withDpop = dpopRequested(process.env) ? { ...baseConfig, dpop: (await import('../lib/authorizer/dpop-config.js')).dpopConfig(process.env) } : baseConfig;
const config = introspectionRequested(process.env, baseConfig.issuers)
  ? (await import('../lib/authorizer/introspection-config.js')).applyIntrospection(withDpop, process.env)
  : withDpop;
const JWKS_METRICS = { jwks_fetched: 'JwksFetches', jwks_fetch_failed: 'JwksFetchFailures', jwks_key_skipped: 'JwksKeysSkipped' } as const;
// Features that are off cost nothing: their code is a chunk of its own (serverless.yml: splitting),
// loaded only when the configuration turns them on.
const introspection = config.introspection === undefined ? undefined : await introspectionFrom(config);
const verifier = new TokenVerifier(config, {
  introspection,
  onJwksEvent: (event) => {
    const metrics = config.metrics.enabled ? embeddedMetrics(config.metrics.namespace, { service: logger.service, issuer: event.issuer }, { [JWKS_METRICS[event.type]]: 1 }, Date.now()) : undefined;
    logger.log(event.type === 'jwks_fetched' ? 'info' : 'warn', event.type, { issuer: event.issuer, detail: event.detail }, metrics);
  },
});
// The JWKS fetch starts now, so that it overlaps the rest of init (and, on Lambda, the runtime's
// work before the first event) instead of starting with the first request, which joins it. A
// failed prefetch fails nothing: the first request fetches again. Config and route table mistakes
// still fail init, the route table right below (the fetch in flight then dies with the process).
if (config.jwksPrefetch) verifier.prefetchKeys();
const routes = parseRouteTable(routeTableDocument);
const revocations = config.revocation === undefined ? undefined : await revocationsFrom(config);
// DPoP's check loads with the first DPoP request, or now when the route table or a replay store
// says DPoP is in use, so its first request does not wait for the module and the SDK.
let dpopChecker: Promise<DpopChecker> | undefined;
// A failed load is not remembered: the next DPoP request loads again.
const dpop = () => (dpopChecker ??= dpopFrom(config).catch((error: unknown) => {
  dpopChecker = undefined;
  throw error;
}));
if (config.dpop.replay.tableName !== undefined || routes.apis.some(({ requireDpop }) => requireDpop)) dpop().catch(() => undefined);
const authorize = createAuthorizer({ config, routes, verifier, revocations, dpop });
// One line per decision, with its metrics (EMF): README, Logs.
const logDecision = createDecisionLog(logger, config);

/** The DPoP check (RFC 9449), with the fleet-wide replay store when AUTH_DPOP_REPLAY_TABLE names one. */
async function dpopFrom({ dpop: settings, clockToleranceSeconds }: typeof config): Promise<DpopChecker> {
  const { tableName, endpoint, ...replay } = settings.replay;
  const [{ DpopChecker }, store] = await Promise.all([
    import('../lib/dpop/dpop-checker.js'),
    tableName === undefined ? undefined : import('../lib/dpop/dynamodb-replay-store.js').then(({ DynamoDbReplayStore }) => new DynamoDbReplayStore({ tableName, endpoint })),
  ]);
  // What happens when the store cannot be reached is the operator's choice: said once per container.
  logger.log(tableName !== undefined && replay.containerOnlyWhenStoreDown ? 'warn' : 'info', 'dpop_config', {
    replayStore: tableName ?? 'none (this container\'s memory only)',
    whenStoreDown: tableName === undefined ? undefined : replay.containerOnlyWhenStoreDown ? 'accept on this container\'s memory (AUTH_DPOP_REPLAY_CONTAINER_ONLY=true)' : 'refuse (dpop_replay_unavailable)',
    iatWindowSeconds: settings.iatWindowSeconds,
  });
  store?.prefetch();
  return new DpopChecker({ algorithms: settings.algorithms, iatWindowSeconds: settings.iatWindowSeconds, clockToleranceSeconds, replay }, store, (event) => {
    const emf = config.metrics.enabled ? embeddedMetrics(config.metrics.namespace, { service: logger.service }, { DpopReplayStoreFailures: 1 }, Date.now()) : undefined;
    logger.log('warn', event.type, { detail: event.detail }, emf);
  });
}

/**
 * Introspection (RFC 7662), when an issuer has it: its client secret is read (and its endpoint
 * discovered) now, at cold start, like the JWKS prefetch. Never the secret in a log line.
 */
async function introspectionFrom({ issuers, introspection: options, metrics }: typeof config): Promise<TokenIntrospector | undefined> {
  const clients = issuers.flatMap(({ introspection: client }) => (client === undefined ? [] : [client]));
  if (options === undefined || clients.length === 0) return undefined;
  const { TokenIntrospector } = await import('../lib/introspection/token-introspector.js');
  const introspector = new TokenIntrospector(clients, options, {
    onEvent: (event) => {
      const failed = event.type === 'introspection_failed';
      const emf = metrics.enabled && failed ? embeddedMetrics(metrics.namespace, { service: logger.service, issuer: event.issuer }, { IntrospectionFailures: 1 }, Date.now()) : undefined;
      logger.log(failed ? 'warn' : 'info', event.type, { issuer: event.issuer, detail: event.detail }, emf);
    },
  });
  introspector.prefetch();
  return introspector;
}

/** Revocation, when AUTH_REVOCATION_TABLE turns it on: its cold-start load starts now, like the JWKS. */
async function revocationsFrom({ revocation, maxTokenLifetimeSeconds }: typeof config): Promise<RevocationRefresher | undefined> {
  if (revocation === undefined) return undefined;
  const [{ DynamoDbRevocationSource }, { RevocationRefresher }] = await Promise.all([
    import('../lib/revocation/dynamodb-revocation-source.js'), import('../lib/revocation/revocation-refresher.js'),
  ]);
  const { tableName, endpoint, ...options } = revocation;
  // Logged at every cold start: what happens when the store cannot be reached is the operator's choice.
  logger.log(options.failOpen ? 'warn' : 'info', 'revocation_config', {
    table: tableName, refreshSeconds: options.refreshSeconds, maxStalenessSeconds: options.maxStalenessSeconds,
    whenStale: options.failOpen ? 'allow (AUTH_REVOCATION_FAIL_OPEN=true)' : 'refuse (revocation_unavailable)',
  });
  const refresher = new RevocationRefresher(new DynamoDbRevocationSource({ tableName, endpoint }), { ...options, maxTokenLifetimeSeconds }, {
    onEvent: (event) => logger.log(event.type === 'revocations_loaded' ? 'info' : 'warn', event.type, { detail: event.detail }),
  });
  refresher.start();
  return refresher;
}

/**
 * The Lambda entry point for REST (TOKEN and REQUEST) and HTTP API (payload 2.0) authorizers. Resolves
 * to a policy, or rejects with `Unauthorized` (a definitive refusal on REST) or with another error
 * (a transient failure, both APIs).
 */
export async function handler(event: unknown, context?: Context): Promise<APIGatewayAuthorizerResult> {
  const startedAt = performance.now();
  logger.startInvocation(context);
  const pending = authorize(event);
  // Usually a decision already (known key or remembered token): no await, no extra microtask.
  const decision = pending instanceof Promise ? await pending : pending;
  logDecision(decision, performance.now() - startedAt, Date.now());
  // Only "Unauthorized" means 401 to API Gateway; any other error is an authorizer failure (5xx),
  // which is what an outage must be: retryable, and never a cached verdict on the token.
  if (decision.retryable) throw new Error('Authorizer unavailable: the token could not be checked; retry');
  if (decision.result === undefined) throw new Error('Unauthorized');
  return decision.result;
}
