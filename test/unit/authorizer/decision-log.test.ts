import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { Decision } from '../../../lib/authorizer/authorizer.js';
import { createDecisionLog, decisionLevel } from '../../../lib/authorizer/decision-log.js';
import { createLogger } from '../../../lib/shared/log.js';

const context = {
  functionName: 'bearer-gate-dev-authorizer', invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:bearer-gate-dev-authorizer',
  memoryLimitInMB: '256', awsRequestId: '8476a536-e9f4-11e8-9739-2dfe598c3fcd',
} as Context;

const allow: Decision = {
  outcome: 'allow', reason: undefined, detail: undefined, result: undefined, retryable: false, api: 'rest', route: 'GET /calendar/v1/events',
  sub: 'usr_123', clientId: 'calendar-app', kid: 'k1', cached: true,
};
const deny: Decision = { ...allow, outcome: 'deny', reason: 'insufficient_scope', cached: false };
const failed: Decision = { ...allow, outcome: 'unauthorized', reason: 'jwks_unavailable', detail: 'https://issuer.example/jwks answered HTTP 503', retryable: true, sub: undefined, clientId: undefined, kid: undefined, cached: false };

function lines(level: string | undefined, metrics: { enabled: boolean; refusalsOnly?: boolean }, decisions: Decision[]): Record<string, unknown>[] {
  const written: string[] = [];
  const logger = createLogger({ service: 'bearer-gate-authorizer', level, write: (line) => written.push(line), env: { _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1' } });
  const log = createDecisionLog(logger, { metrics: { ...metrics, namespace: 'bearer-gate' } });
  logger.startInvocation(context);
  for (const decision of decisions) log(decision, 0.1234, 1_796_000_000_000);
  return written.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the decision line', () => {
  it('levels: allowed INFO, refused WARN, a failure ERROR', () => {
    assert.deepEqual([allow, deny, failed].map(decisionLevel), ['info', 'warn', 'error']);
  });

  it('carries valid EMF with the directive Powertools Metrics writes for the same data, and no undefined member', () => {
    const [line] = lines('info', { enabled: true }, [deny]) as [Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: unknown[] }[]; Timestamp: number } }];
    let theirs: Record<string, unknown> & { _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: unknown[]; Namespace: string }[] } } = { _aws: { CloudWatchMetrics: [] } };
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => {
      theirs = JSON.parse(chunk) as typeof theirs;
      return true;
    }) as typeof process.stdout.write;
    try {
      const metrics = new Metrics({ namespace: 'bearer-gate', serviceName: 'bearer-gate-authorizer' });
      metrics.addDimension('outcome', 'deny');
      metrics.addDimension('reason', 'insufficient_scope');
      metrics.addMetric('Decisions', MetricUnit.Count, 1);
      metrics.addMetric('DecisionCacheHits', MetricUnit.Count, 0);
      metrics.publishStoredMetrics();
    } finally {
      process.stdout.write = write;
    }
    const [their] = theirs._aws.CloudWatchMetrics;
    const [our] = line._aws.CloudWatchMetrics;
    assert.equal(our!.Namespace, their!.Namespace);
    assert.deepEqual(our!.Metrics, their!.Metrics);
    assert.deepEqual(our!.Dimensions.map((set) => [...set].sort()), their!.Dimensions.map((set) => [...set].sort()));
    for (const key of ['service', 'outcome', 'reason', 'Decisions', 'DecisionCacheHits']) assert.deepEqual(line[key], theirs[key], key);
    assert.equal(line._aws.Timestamp, 1_796_000_000_000);
    for (const [key, value] of Object.entries(line)) assert.ok(value !== null && value !== undefined, key);
    assert.equal(line['level'], 'WARN');
    assert.equal(line['latencyMs'], 0.123);
  });

  it('a typical allow line, warm: the bytes that say something', () => {
    const written: string[] = [];
    const logger = createLogger({ service: 'bearer-gate-authorizer', write: (line) => written.push(line), env: { _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1' } });
    const log = createDecisionLog(logger, { metrics: { enabled: true, namespace: 'bearer-gate' } });
    logger.startInvocation(context);
    log(allow, 0.1, 1_796_000_000_000);
    logger.startInvocation({ ...context, awsRequestId: '9476a536-e9f4-11e8-9739-2dfe598c3fcd' });
    log(allow, 0.1, 1_796_000_000_000);
    const [cold, warm] = written.map((line) => Buffer.byteLength(line));
    // The container's first line names the function; the rest leave out what never changes.
    assert.ok(cold! - warm! > 150, `${cold} vs ${warm}`);
    assert.ok(warm! < 700, `${warm} bytes`);
    assert.equal(JSON.parse(written[1]!)['reason'], 'ok');
  });

  it('AUTH_LOG_LEVEL=warn without metrics: allowed decisions write nothing, refusals and failures do', () => {
    assert.deepEqual(lines('warn', { enabled: false }, [allow, deny, failed]).map((line) => line['outcome']), ['deny', 'unauthorized']);
  });

  it('metrics force the line whatever the level: every decision is counted', () => {
    const written = lines('error', { enabled: true }, [allow, deny]);
    assert.deepEqual(written.map((line) => [line['outcome'], line['Decisions']]), [['allow', 1], ['deny', 1]]);
  });

  it('AUTH_METRICS=refusals: allowed lines carry no EMF, refusals do; with warn, allowed decisions write no line at all', () => {
    const written = lines('info', { enabled: true, refusalsOnly: true }, [allow, deny]);
    assert.equal(written[0]!['_aws'], undefined);
    assert.equal(written[1]!['Decisions'], 1);
    assert.deepEqual(lines('warn', { enabled: true, refusalsOnly: true }, [allow, deny]).map((line) => line['outcome']), ['deny']);
  });

  it('silent: nothing at all', () => {
    assert.deepEqual(lines('silent', { enabled: false }, [allow, deny, failed]), []);
  });
});
