/**
 * CloudWatch Embedded Metric Format: a log line that carries `_aws.CloudWatchMetrics` becomes
 * metrics when CloudWatch Logs ingests it, with no API call and no agent. The decision line
 * itself carries the decision metrics, so metrics cost one object key, not one more write.
 */
export interface MetricsOptions {
  enabled: boolean;
  /** Decisions' metrics on refusals only (AUTH_METRICS=refusals); other metrics are unaffected. */
  refusalsOnly?: boolean;
  namespace: string;
}

export function embeddedMetrics(
  namespace: string,
  dimensions: Record<string, string>,
  metrics: Record<string, number>,
  timestamp: number,
): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [{
        Namespace: namespace,
        // One set with every dimension, as Powertools writes it: coarser totals are a metric-math
        // SUM over it, so repeating them in every line would buy nothing but bytes.
        Dimensions: [Object.keys(dimensions)],
        Metrics: Object.keys(metrics).map((name) => ({ Name: name, Unit: 'Count' })),
      }],
    },
    ...dimensions,
    ...metrics,
  };
}
