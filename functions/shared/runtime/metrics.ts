/**
 * Custom CloudWatch metrics in Embedded Metric Format (EMF): recorded during an invocation,
 * written by `flush()` as JSON lines on stdout, from which CloudWatch Logs extracts the
 * metrics (no PutMetricData call, no SDK client, nothing on the request path). One line per
 * dimension set and flush; counts are summed, samples (timings, sizes) kept as a value array
 * (EMF allows 100 values per metric and line, more are split over several lines).
 *
 * Names, units and dimensions are listed in docs/operations.md. Dimensions must stay
 * low-cardinality (a route, an outcome, an error code): every distinct combination is a
 * billed custom metric. Never a connection id or a room id.
 *
 * The namespace is `METRICS_NAMESPACE` (the template sets one per stack), else `WebSocketChat`.
 * Lines carry `service` and `function_request_id` for Logs Insights, but no `level`: with the
 * Lambda JSON log format they count as INFO, so an ApplicationLogLevel above INFO makes Lambda
 * drop them; the cold start then logs one warning saying so (docs/operations.md).
 *
 * @example
 * const metrics = createMetrics({ service: 'chat-fanout' });
 * metrics.count('Deliveries', report.delivered);
 * metrics.timing('FanoutDuration', Date.now() - started);
 * metrics.flush(context); // once, at the end of the invocation
 */
import { logThreshold } from './logger.js';

export type Unit = 'Count' | 'Milliseconds';
export type Dimensions = Record<string, string>;

export interface Metrics {
  /** Adds `value` (default 1) to a counter. */
  count(name: string, value?: number, dimensions?: Dimensions): void;
  /** Records one duration sample in milliseconds. */
  timing(name: string, ms: number, dimensions?: Dimensions): void;
  /** Records one sample of a distribution (e.g. a room's size). */
  sample(name: string, value: number, unit: Unit, dimensions?: Dimensions): void;
  /** Writes everything recorded since the last flush, then forgets it. */
  flush(context?: { awsRequestId?: string }): void;
}

export interface MetricsOptions {
  namespace?: string;
  service?: string;
  write?: (line: string) => void;
  now?: () => number;
}

/** Most values of one metric in one EMF line (the specification's limit). */
const MAX_VALUES = 100;
export const DEFAULT_NAMESPACE = 'WebSocketChat';

interface Series {
  unit: Unit;
  summed: boolean;
  values: number[];
}

interface Group {
  dimensions: Dimensions;
  series: Map<string, Series>;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const namespace = options.namespace ?? (process.env.METRICS_NAMESPACE?.trim() || DEFAULT_NAMESPACE);
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? Date.now;
  let groups = new Map<string, Group>();
  const lambdaLevel = process.env.AWS_LAMBDA_LOG_LEVEL;
  if (lambdaLevel && logThreshold({ AWS_LAMBDA_LOG_LEVEL: lambdaLevel }) > logThreshold({})) {
    write(
      JSON.stringify({
        level: 'WARN',
        message: `ApplicationLogLevel is ${lambdaLevel}: Lambda drops this function's metrics lines (they count as INFO)`,
        timestamp: new Date(now()).toISOString(),
        ...(options.service ? { service: options.service } : {}),
      }),
    );
  }

  const record = (name: string, value: number, unit: Unit, summed: boolean, dimensions: Dimensions = {}) => {
    if (!Number.isFinite(value)) return;
    const key = JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)));
    let group = groups.get(key);
    if (!group) {
      group = { dimensions, series: new Map() };
      groups.set(key, group);
    }
    const series = group.series.get(name);
    if (!series) group.series.set(name, { unit, summed, values: [value] });
    else if (summed && series.summed) series.values[0] = (series.values[0] ?? 0) + value;
    else series.values.push(value);
  };

  return {
    count: (name, value = 1, dimensions) => record(name, value, 'Count', true, dimensions),
    timing: (name, ms, dimensions) => record(name, Math.max(0, ms), 'Milliseconds', false, dimensions),
    sample: (name, value, unit, dimensions) => record(name, value, unit, false, dimensions),
    flush(context) {
      const pending = groups;
      groups = new Map();
      for (const { dimensions, series } of pending.values()) {
        const longest = Math.max(...[...series.values()].map((s) => s.values.length));
        for (let offset = 0; offset < longest; offset += MAX_VALUES) {
          const metrics: { Name: string; Unit: Unit }[] = [];
          const values: Record<string, number | number[]> = {};
          for (const [name, s] of series) {
            const chunk = s.values.slice(offset, offset + MAX_VALUES);
            if (chunk.length === 0) continue;
            metrics.push({ Name: name, Unit: s.unit });
            values[name] = chunk.length === 1 ? (chunk[0] as number) : chunk;
          }
          write(
            JSON.stringify({
              _aws: {
                Timestamp: now(),
                CloudWatchMetrics: [
                  { Namespace: namespace, Dimensions: [Object.keys(dimensions)], Metrics: metrics },
                ],
              },
              ...dimensions,
              ...values,
              ...(options.service ? { service: options.service } : {}),
              ...(context?.awsRequestId ? { function_request_id: context.awsRequestId } : {}),
            }),
          );
        }
      }
    },
  };
}

/** Whether a parsed log line is an EMF document (the local log shows these apart). */
export function isMetricsLine(entry: unknown): entry is { _aws: { CloudWatchMetrics: unknown[] } } {
  return (
    typeof entry === 'object' &&
    entry !== null &&
    Array.isArray((entry as { _aws?: { CloudWatchMetrics?: unknown } })._aws?.CloudWatchMetrics)
  );
}
