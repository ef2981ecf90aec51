/**
 * CloudWatch Embedded Metric Format: a log line that carries `_aws.CloudWatchMetrics` becomes
 * metrics when CloudWatch Logs ingests it, with no API call and no agent. The decision line
 * itself carries the decision metrics, so metrics cost one object key, not one more write.
 */
export interface MetricsOptions {
  enabled: boolean;
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
        // One set per level of detail: totals by outcome, and by outcome and reason.
        Dimensions: dimensionSets(Object.keys(dimensions)),
        Metrics: Object.keys(metrics).map((name) => ({ Name: name, Unit: 'Count' })),
      }],
    },
    ...dimensions,
    ...metrics,
  };
}

function dimensionSets(names: string[]): string[][] {
  return names.map((_, index) => names.slice(0, index + 1));
}
