import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { createLogger, describeError, type LogLevel, logLevelFromEnv, serviceNameFromEnv } from '../../../lib/shared/log.js';
import { embeddedMetrics } from '../../../lib/shared/metrics.js';

// Our lines claim Powertools' format without its bundle cost: these tests hold the claim against
// Powertools itself (a dev dependency only), run in this process with the same context and env.

const context = {
  functionName: 'bearer-gate-dev-authorizer',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:bearer-gate-dev-authorizer',
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/bearer-gate-dev-authorizer',
  logStreamName: '2026/12/01/[$LATEST]abc',
  callbackWaitsForEmptyEventLoop: true,
} as Context;
const TRACE = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';

/** Runs `body` with these variables set (undefined: unset) and stdout and stderr captured, line by line. */
function withEnvAndStdout(env: Record<string, string | undefined>, body: () => void): Record<string, unknown>[] {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  const lines: string[] = [];
  const writes = [process.stdout.write, process.stderr.write];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  // Powertools writes warnings and errors to stderr; Lambda sends both streams to the same log.
  process.stdout.write = process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter((line) => line !== ''));
    return true;
  }) as typeof process.stdout.write;
  try {
    body();
  } finally {
    [process.stdout.write, process.stderr.write] = writes as [typeof process.stdout.write, typeof process.stderr.write];
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

const LAMBDA_ENV = { _X_AMZN_TRACE_ID: TRACE, AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand', POWERTOOLS_SERVICE_NAME: 'bearer-gate-authorizer', POWERTOOLS_DEV: undefined };
const LEVEL_VARIABLES = ['AWS_LAMBDA_LOG_LEVEL', 'AUTH_LOG_LEVEL', 'POWERTOOLS_LOG_LEVEL', 'LOG_LEVEL'] as const;

describe('log lines in the format of Powertools Logger', () => {
  it('carry the same standard keys with the same values, for every level, on a cold and a warm invocation', () => {
    for (const invocation of ['cold', 'warm']) {
      const fields = { outcome: 'deny', reason: 'insufficient_scope', sub: 'usr_123' };
      const theirs = withEnvAndStdout({ ...LAMBDA_ENV, POWERTOOLS_LOG_LEVEL: 'DEBUG' }, () => {
        const logger = new PowertoolsLogger();
        if (invocation === 'warm') logger.addContext(context);
        logger.addContext(context);
        logger.debug('decision', fields);
        logger.info('decision', fields);
        logger.warn('decision', fields);
        logger.error('decision', fields);
      });
      const ours = withEnvAndStdout({ ...LAMBDA_ENV, POWERTOOLS_LOG_LEVEL: 'DEBUG' }, () => {
        const logger = createLogger({ service: serviceNameFromEnv(process.env, 'unused'), level: logLevelFromEnv(process.env) });
        if (invocation === 'warm') logger.startInvocation(context);
        logger.startInvocation(context);
        for (const level of ['debug', 'info', 'warn', 'error'] as const) logger.log(level, 'decision', fields);
      });
      assert.equal(ours.length, 4);
      assert.equal(theirs.length, 4);
      for (const [index, their] of theirs.entries()) {
        const { timestamp: theirTime, sampling_rate: _sampling, ...theirRest } = their;
        const { timestamp: ourTime, ...ourRest } = ours[index]!;
        // Everything Powertools writes, we write the same (we never sample, so no sampling_rate).
        assert.deepEqual(ourRest, theirRest, `${invocation} invocation, line ${index}`);
        for (const time of [theirTime, ourTime]) assert.match(String(time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      }
      assert.equal(ours[0]!['cold_start'], invocation === 'cold');
    }
  });

  it('write the keys that never change in a container (function_arn, function_name, function_memory_size) on its first invocation\'s lines only', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ service: 'x', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    logger.startInvocation(context);
    logger.log('info', 'first');
    logger.log('info', 'same invocation');
    logger.startInvocation({ ...context, awsRequestId: 'd1d0e3f0-0000-4000-8000-000000000002' });
    logger.logJson('info', 'next', '"outcome":"allow"');
    const constant = ['function_arn', 'function_name', 'function_memory_size'];
    for (const line of lines.slice(0, 2)) for (const key of constant) assert.ok(key in line, key);
    for (const key of constant) assert.ok(!(key in lines[2]!), key);
    // What identifies the invocation stays on every line, as Powertools writes it.
    assert.deepEqual([lines[2]!['function_request_id'], lines[2]!['cold_start'], lines[2]!['service'], lines[2]!['outcome']], ['d1d0e3f0-0000-4000-8000-000000000002', false, 'x', 'allow']);
  });

  it('resolve the level as Powertools does where Lambda\'s level is not the more verbose one', () => {
    const cases: Record<string, string | undefined>[] = [
      {},
      { POWERTOOLS_LOG_LEVEL: 'ERROR' },
      { LOG_LEVEL: 'WARN' },
      { POWERTOOLS_LOG_LEVEL: 'WARN', LOG_LEVEL: 'DEBUG' },
      { AWS_LAMBDA_LOG_LEVEL: 'WARN', POWERTOOLS_LOG_LEVEL: 'INFO' },
      { AWS_LAMBDA_LOG_LEVEL: 'ERROR', POWERTOOLS_LOG_LEVEL: 'ERROR' },
      { AWS_LAMBDA_LOG_LEVEL: 'FATAL' },
      { AWS_LAMBDA_LOG_LEVEL: 'TRACE' },
    ];
    const levels: LogLevel[] = ['debug', 'info', 'warn', 'error'];
    for (const variables of cases) {
      const env = { ...Object.fromEntries(LEVEL_VARIABLES.map((name) => [name, undefined])), ...variables, POWERTOOLS_DEV: undefined };
      const theirs = withEnvAndStdout(env, () => {
        const logger = new PowertoolsLogger({ serviceName: 'x' });
        logger.debug('debug');
        logger.info('info');
        logger.warn('warn');
        logger.error('error');
      }).map((line) => line['message']);
      const ours = withEnvAndStdout(env, () => {
        const logger = createLogger({ service: 'x', level: logLevelFromEnv(process.env) });
        for (const level of levels) logger.log(level, level);
      }).map((line) => line['message']);
      assert.deepEqual(ours, theirs, JSON.stringify(variables));
    }
    // Deliberate differences. Lambda's level is a floor, not an override: with the JSON log format
    // Lambda sets INFO, and AUTH_LOG_LEVEL=warn must still hold (Powertools would log INFO).
    const underLambdaInfo = createLogger({ service: 'x', level: logLevelFromEnv({ AWS_LAMBDA_LOG_LEVEL: 'INFO', AUTH_LOG_LEVEL: 'warn' }) });
    assert.deepEqual([underLambdaInfo.enabled('info'), underLambdaInfo.enabled('warn')], [false, true]);
    const underLambdaWarn = createLogger({ service: 'x', level: logLevelFromEnv({ AWS_LAMBDA_LOG_LEVEL: 'WARN', AUTH_LOG_LEVEL: 'debug' }) });
    assert.deepEqual([underLambdaWarn.enabled('info'), underLambdaWarn.enabled('warn')], [false, true]);
    // And Powertools ignores a lower-case "warn" in its variable (INFO); we take it.
    const lowerCase = createLogger({ service: 'x', level: logLevelFromEnv({ POWERTOOLS_LOG_LEVEL: 'warn' }) });
    assert.deepEqual([lowerCase.enabled('info'), lowerCase.enabled('warn')], [false, true]);
    // Ours is read before Powertools' own variable.
    assert.equal(logLevelFromEnv({ AUTH_LOG_LEVEL: 'error', POWERTOOLS_LOG_LEVEL: 'debug' }), 'error');
    assert.equal(logLevelFromEnv({ AWS_LAMBDA_LOG_LEVEL: 'WARN', AUTH_LOG_LEVEL: 'error' }), 'error');
  });
});

describe('describeError', () => {
  it('keeps kind, message and cause, and says what a non-Error was, without a stack', () => {
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:8000');
    const error = new TypeError('fetch failed', { cause });
    assert.equal(describeError(error), 'TypeError: fetch failed (cause: Error: connect ECONNREFUSED 127.0.0.1:8000)');
    assert.equal(describeError('a string'), 'non-Error thrown: a string');
    assert.equal(describeError({ toString: () => 'x'.repeat(500) }).length, 'non-Error thrown: '.length + 200);
    assert.doesNotMatch(describeError(error), /\n\s+at /);
  });
});

describe('metrics in the format of Powertools Metrics', () => {
  it('an EMF line holds the dimension set, metric definitions and values Powertools writes for the same data', () => {
    const [theirs] = withEnvAndStdout({ POWERTOOLS_SERVICE_NAME: 'bearer-gate-authorizer', POWERTOOLS_METRICS_DISABLED: undefined, POWERTOOLS_DEV: undefined }, () => {
      const metrics = new Metrics({ namespace: 'bearer-gate' });
      metrics.addDimension('outcome', 'deny');
      metrics.addDimension('reason', 'insufficient_scope');
      metrics.addMetric('Decisions', MetricUnit.Count, 1);
      metrics.addMetric('DecisionCacheHits', MetricUnit.Count, 0);
      metrics.publishStoredMetrics();
    }) as [Record<string, unknown> & { _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: unknown[] }[] } }];
    const ours = embeddedMetrics('bearer-gate', { service: 'bearer-gate-authorizer', outcome: 'deny', reason: 'insufficient_scope' }, { Decisions: 1, DecisionCacheHits: 0 }, theirs._aws.Timestamp) as typeof theirs;
    const [their] = theirs._aws.CloudWatchMetrics;
    const [our] = ours._aws.CloudWatchMetrics;
    assert.equal(our!.Namespace, their!.Namespace);
    assert.deepEqual(our!.Metrics, their!.Metrics);
    // Powertools writes one set with every dimension; ours adds the coarser sets (totals by service
    // and by outcome) so that a dashboard needs no SEARCH expression for them.
    assert.ok(our!.Dimensions.some((set) => JSON.stringify([...set].sort()) === JSON.stringify([...their!.Dimensions[0]!].sort())), JSON.stringify(our!.Dimensions));
    for (const key of ['service', 'outcome', 'reason', 'Decisions', 'DecisionCacheHits']) assert.deepEqual(ours[key], theirs[key], key);
  });
});
