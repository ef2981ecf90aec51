import type { APIGatewayAuthorizerResult, Context } from 'aws-lambda';
import routeTableDocument from '../routes.json' with { type: 'json' };
import { createAuthorizer, type Decision } from '../lib/authorizer.js';
import { loadConfig } from '../lib/config.js';
import { createLogger } from '../lib/log.js';
import { parseRouteTable } from '../lib/route-table.js';
import { TokenVerifier } from '../lib/token-verifier.js';

// Cold start: configuration and route table are validated once; a mistake fails the init phase
// loudly (API Gateway answers 500) instead of authorizing anything.
const logger = createLogger(process.env['AUTH_LOG_LEVEL'] ?? process.env['POWERTOOLS_LOG_LEVEL']);
const config = loadConfig(process.env);
const routes = parseRouteTable(routeTableDocument);
const verifier = new TokenVerifier(config, {
  onJwksEvent: (event) => logger.log(event.type === 'jwks_fetched' ? 'info' : 'warn', event.type, { issuer: event.issuer, detail: event.detail }),
});
const authorize = createAuthorizer({ config, routes, verifier });

function logDecision(decision: Decision, startedAt: number, context: Context | undefined): void {
  const level = decision.reason === 'internal_error' || decision.reason === 'jwks_unavailable' ? 'error' : 'info';
  if (!logger.enabled(level)) return;
  logger.log(level, 'decision', {
    outcome: decision.outcome,
    reason: decision.reason,
    detail: decision.detail,
    api: decision.api,
    route: decision.route,
    sub: decision.sub,
    clientId: decision.clientId,
    kid: decision.kid,
    latencyMs: Math.round((performance.now() - startedAt) * 1000) / 1000,
    requestId: context?.awsRequestId,
  });
}

/** The Lambda entry point for REST (TOKEN and REQUEST) and HTTP API (payload 2.0) authorizers. */
export async function handler(event: unknown, context?: Context): Promise<APIGatewayAuthorizerResult> {
  const startedAt = performance.now();
  const decision = await authorize(event);
  logDecision(decision, startedAt, context);
  if (decision.result === undefined) throw new Error('Unauthorized');
  return decision.result;
}
