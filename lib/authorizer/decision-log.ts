/**
 * The decision line: one JSON line per decision, in the Powertools Logger format, carrying the
 * decision's EMF metrics. Built as a string from parts made once per container (the EMF directive,
 * the key names), with one write: on Lambda, where stdout is a pipe, it is most of what a warm
 * request costs (README, Performance).
 */
import type { Decision } from './authorizer.js';
import type { Logger, LogLevel } from '../shared/log.js';

export interface DecisionLogOptions {
  metrics: { enabled: boolean; refusalsOnly?: boolean | undefined; namespace: string };
}

/** The level of a decision's line: allowed INFO, refused WARN (AUTH_LOG_LEVEL=warn keeps refusals only), failed ERROR. */
export function decisionLevel(decision: Decision): LogLevel {
  return decision.retryable ? 'error' : decision.outcome === 'allow' ? 'info' : 'warn';
}

const member = (name: string, value: string | undefined): string => (value === undefined ? '' : `,"${name}":${JSON.stringify(value)}`);

/**
 * Writes a decision's line when its level is logged or it carries metrics (metrics must not be
 * lost to the log level). No null or undefined member is written.
 */
export function createDecisionLog(logger: Logger, { metrics }: DecisionLogOptions): (decision: Decision, latencyMs: number, now: number) => void {
  // Powertools Metrics' directive for the decision metrics, one dimension set: all of it is fixed
  // but the timestamp. The dimension values are the line's own `service`, `outcome` and `reason`.
  const directive = `,"CloudWatchMetrics":[{"Namespace":${JSON.stringify(metrics.namespace)},"Dimensions":[["service","outcome","reason"]],"Metrics":[{"Name":"Decisions","Unit":"Count"},{"Name":"DecisionCacheHits","Unit":"Count"}]}]}`;
  return (decision, latencyMs, now) => {
    const level = decisionLevel(decision);
    const withMetrics = metrics.enabled && (!metrics.refusalsOnly || decision.outcome !== 'allow');
    if (!withMetrics && !logger.enabled(level)) return;
    // `reason` is "ok" when allowed: a dimension value cannot be missing.
    let members = `"outcome":"${decision.outcome}","reason":"${decision.reason ?? 'ok'}"`
      + member('detail', decision.detail) + member('api', decision.api) + member('route', decision.route)
      + member('sub', decision.sub) + member('clientId', decision.clientId) + member('kid', decision.kid)
      + `,"latencyMs":${Math.round(latencyMs * 1000) / 1000}`;
    if (withMetrics) members += `,"_aws":{"Timestamp":${now}${directive},"Decisions":1,"DecisionCacheHits":${decision.cached ? 1 : 0}`;
    logger.logJson(level, 'decision', members);
  };
}
