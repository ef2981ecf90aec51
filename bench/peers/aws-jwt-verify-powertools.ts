/**
 * Peer: what a team would write on aws-jwt-verify and Powertools for AWS Lambda: the library
 * verifies the token, the same route table decides the policy (our pure access and policy
 * functions, so both sides do the same authorization work), and each decision writes one
 * Powertools Logger line and flushes Powertools Metrics (its own EMF line), as their docs show.
 */
import type { Context } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { JwtVerifier } from 'aws-jwt-verify';
import type { Jwks } from 'aws-jwt-verify/jwk';
import routeTableDocument from '../../routes.json' with { type: 'json' };
import { accessTo, permissionsOf } from '../../lib/authorizer/access.js';
import { parseExecuteApiArn } from '../../lib/authorizer/execute-api-arn.js';
import { buildPolicy } from '../../lib/authorizer/policy.js';
import { findRoute, parseRouteTable } from '../../lib/authorizer/route-table.js';
import { bearerToken, type PeerEvent, peerSettings } from './common.js';

const { issuer, jwksUri, audience } = peerSettings();
const verifier = JwtVerifier.create({ issuer, audience, jwksUri });
const routes = parseRouteTable(routeTableDocument);
const logger = new Logger({ serviceName: 'bearer-gate-authorizer' });
const metrics = new Metrics({ namespace: 'bearer-gate', serviceName: 'bearer-gate-authorizer' });

export function cacheJwks(jwks: unknown): void {
  verifier.cacheJwks(jwks as Jwks);
}
const snapshot = process.env['AUTH_JWKS_SNAPSHOT'];
if (snapshot !== undefined && snapshot !== '') cacheJwks(JSON.parse(snapshot));

export async function handler(event: PeerEvent, context?: Context) {
  if (context !== undefined) logger.addContext(context);
  const arn = parseExecuteApiArn(event.methodArn);
  let payload;
  try {
    payload = await verifier.verify(bearerToken(event));
  } catch {
    logger.info('decision', { outcome: 'unauthorized' });
    metrics.addDimension('outcome', 'unauthorized');
    metrics.addMetric('Decisions', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    throw new Error('Unauthorized');
  }
  const scopes = new Set(typeof payload.scope === 'string' ? payload.scope.split(' ') : []);
  const claims = {
    issuer, subject: payload.sub ?? '', audiences: [audience], expiresAt: payload.exp ?? 0, clientId: payload['client_id'] as string | undefined, scopes,
    tokenUse: (payload['client_id'] !== undefined && payload.sub !== payload['client_id'] ? 'user' : 'client') as 'user' | 'client',
  };
  const permissions = permissionsOf(routes, claims);
  const route = findRoute(routes, arn.method, arn.path);
  const access = accessTo(route, claims, permissions, arn.method, arn.path);
  logger.info('decision', { outcome: access.allowed ? 'allow' : 'deny', reason: access.reason ?? 'ok', route: route ? `${route.method} ${route.path}` : undefined, sub: claims.subject, clientId: claims.clientId });
  metrics.addDimension('outcome', access.allowed ? 'allow' : 'deny');
  metrics.addMetric('Decisions', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  return buildPolicy(claims.subject, arn.stagePrefix, permissions.permitted, undefined);
}
