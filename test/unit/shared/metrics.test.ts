import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../lib/authorizer/config.js';
import { ConfigError } from '../../../lib/errors.js';
import { embeddedMetrics } from '../../../lib/shared/metrics.js';

describe('embedded metric format', () => {
  it('declares every metric and dimension it carries, with the values at the top level', () => {
    const line = embeddedMetrics('bearer-gate', { outcome: 'deny', reason: 'insufficient_scope' }, { Decisions: 1, DecisionCacheHits: 0 }, 1_700_000_000_000);
    assert.deepEqual(line, {
      _aws: {
        Timestamp: 1_700_000_000_000,
        CloudWatchMetrics: [{
          Namespace: 'bearer-gate',
          // One set with every dimension, as Powertools writes it.
          Dimensions: [['outcome', 'reason']],
          Metrics: [{ Name: 'Decisions', Unit: 'Count' }, { Name: 'DecisionCacheHits', Unit: 'Count' }],
        }],
      },
      outcome: 'deny',
      reason: 'insufficient_scope',
      Decisions: 1,
      DecisionCacheHits: 0,
    });
  });

  it('is on by default, can be turned off, and refuses namespaces CloudWatch reserves', () => {
    assert.deepEqual(loadConfig({ AUTH_ISSUER: 'https://i.example/' }).metrics, { enabled: true, refusalsOnly: false, namespace: 'bearer-gate' });
    assert.deepEqual(loadConfig({ AUTH_ISSUER: 'https://i.example/', AUTH_METRICS: 'false', AUTH_METRICS_NAMESPACE: 'Team/Auth' }).metrics, { enabled: false, refusalsOnly: false, namespace: 'Team/Auth' });
    assert.deepEqual(loadConfig({ AUTH_ISSUER: 'https://i.example/', AUTH_METRICS: 'Refusals' }).metrics, { enabled: true, refusalsOnly: true, namespace: 'bearer-gate' });
    assert.throws(() => loadConfig({ AUTH_ISSUER: 'https://i.example/', AUTH_METRICS: 'denials' }), (error: unknown) => error instanceof ConfigError && error.variable === 'AUTH_METRICS' && /refusals/.test(error.message));
    assert.throws(() => loadConfig({ AUTH_ISSUER: 'https://i.example/', AUTH_METRICS_NAMESPACE: 'AWS/Lambda' }), (error: unknown) => error instanceof ConfigError && error.variable === 'AUTH_METRICS_NAMESPACE');
  });

  it('takes Powertools\' variables where ours are not set, and ours first', () => {
    const issuer = { AUTH_ISSUER: 'https://i.example/' };
    assert.deepEqual(loadConfig({ ...issuer, POWERTOOLS_METRICS_NAMESPACE: 'Team/Auth', POWERTOOLS_METRICS_DISABLED: 'true' }).metrics, { enabled: false, refusalsOnly: false, namespace: 'Team/Auth' });
    assert.deepEqual(loadConfig({ ...issuer, AUTH_METRICS_NAMESPACE: 'Ours', POWERTOOLS_METRICS_NAMESPACE: 'Theirs', AUTH_METRICS: 'true', POWERTOOLS_METRICS_DISABLED: 'true' }).metrics, { enabled: true, refusalsOnly: false, namespace: 'Ours' });
    assert.equal(loadConfig({ ...issuer, POWERTOOLS_METRICS_DISABLED: 'false' }).metrics.enabled, true);
    assert.throws(() => loadConfig({ ...issuer, POWERTOOLS_METRICS_NAMESPACE: 'AWS/X' }), (error: unknown) => error instanceof ConfigError && error.variable === 'POWERTOOLS_METRICS_NAMESPACE');
    assert.throws(() => loadConfig({ ...issuer, POWERTOOLS_METRICS_DISABLED: 'maybe' }), (error: unknown) => error instanceof ConfigError && error.variable === 'POWERTOOLS_METRICS_DISABLED');
  });
});
