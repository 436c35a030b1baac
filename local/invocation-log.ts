/**
 * The local stack's log: one readable line per invocation (time, route or trigger, function,
 * connection, status, duration), errors followed by their stack. Secrets never reach it: the
 * functions' JSON lines are redacted as the handlers' logger does (secret-looking keys at any
 * depth), and every line has `Auth=`/`token=` values, bearer tokens, JWTs and the configured
 * tokens replaced by [redacted].
 */
import { redact, redactText } from '../functions/shared/runtime/logger';
import { isMetricsLine } from '../functions/shared/runtime/metrics';
import type { InvokeOutcome } from './lambda/sandboxes';

export type LogSink = (line: string) => void;

export interface InvocationEntry {
  /** Route key ($connect, enterroom, …), 'authorizer' or 'sqs'. */
  label: string;
  functionId: string;
  connectionId?: string;
  /** What came of it: an HTTP status, Allow/Deny, a batch summary. */
  status: string | number;
  outcome?: InvokeOutcome;
  detail?: string;
}

const clock = () => new Date().toISOString().slice(11, 23);

export function invocationLines(entry: InvocationEntry): string[] {
  const { outcome } = entry;
  const duration = outcome ? `${String(outcome.durationMs).padStart(5)} ms` : '     -   ';
  const cold = outcome?.initMs !== undefined ? ` (cold start, init ${outcome.initMs} ms)` : '';
  const line =
    `${clock()}  ${entry.label.padEnd(12)} ${entry.functionId.padEnd(20)} ` +
    `${(entry.connectionId ?? '').padEnd(16)} ${String(entry.status).padEnd(6)} ${duration}${cold}` +
    (entry.detail ? `  ${entry.detail}` : '');
  if (!outcome || outcome.ok) return [line];
  const { errorType, errorMessage, trace = [] } = outcome.error;
  const stack = trace.filter((t, i) => !(i === 0 && t.includes(errorMessage)));
  return [line, `    ${errorType}: ${errorMessage}`, ...stack.map((t) => `    ${t.trim()}`)];
}

/** Redacts one line: a JSON object as the handlers' logger does, any other text by pattern. */
export function redactLine(line: string): string {
  const trimmed = line.trim();
  if (trimmed.startsWith('{')) {
    try {
      return JSON.stringify(redact(JSON.parse(trimmed)));
    } catch {
      // Not JSON after all: redacted as text below.
    }
  }
  return redactText(line);
}

/** A sink that redacts every line (`redactLine`) and the given secrets before writing. */
export function redactingSink(sink: LogSink, secrets: string[]): LogSink {
  const literal = secrets.filter((s) => s.length >= 4);
  return (line) => {
    let safe = redactText(line);
    for (const secret of literal) safe = safe.split(secret).join('[redacted]');
    sink(safe);
  };
}

/** An Embedded Metric Format line, shortened to its metric values: `metrics Route=… Name=value …`. */
function metricsSummary(entry: Record<string, unknown>): string {
  const directives = (
    entry._aws as { CloudWatchMetrics?: { Dimensions?: string[][]; Metrics?: { Name: string }[] }[] }
  ).CloudWatchMetrics;
  const dimensions = [...new Set((directives ?? []).flatMap((d) => (d.Dimensions ?? []).flat()))];
  const names = (directives ?? []).flatMap((d) => (d.Metrics ?? []).map((m) => m.Name));
  const show = (name: string) => `${name}=${JSON.stringify(entry[name])}`;
  return ['metrics', ...dimensions.map(show), ...names.map(show)].join(' ');
}

/**
 * A function's own output line (the handlers log JSON): shown when `mode` is 'all', or when
 * it is a warning or an error; an error's stack follows on its own lines. Metrics lines (EMF)
 * are shown, shortened, in 'all' mode only. JSON lines are redacted (`redactLine`).
 */
export function functionOutputLines(
  functionId: string,
  line: string,
  mode: 'all' | 'errors' | 'none',
): string[] {
  if (mode === 'none') return [];
  let parsed: Record<string, unknown> | undefined;
  try {
    const value: unknown = JSON.parse(line);
    parsed =
      typeof value === 'object' && value !== null ? (redact(value) as Record<string, unknown>) : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsed && isMetricsLine(parsed))
    return mode === 'all' ? [`    ${functionId} | ${metricsSummary(parsed)}`] : [];
  const level = typeof parsed?.level === 'string' ? parsed.level.toUpperCase() : 'INFO';
  if (mode === 'errors' && parsed && !['WARN', 'ERROR', 'FATAL'].includes(level)) return [];
  const error = parsed?.error as { stack?: unknown } | undefined;
  const stack = typeof error?.stack === 'string' ? error.stack.split('\n').slice(1) : [];
  const shown = parsed ? JSON.stringify(parsed) : redactText(line);
  return [`    ${functionId} | ${shown}`, ...stack.map((s) => `    ${functionId} |   ${s.trim()}`)];
}
