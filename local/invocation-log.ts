/**
 * The local stack's log: one readable line per invocation (time, route or trigger, function,
 * connection, status, duration), errors followed by their stack. Secrets never reach it:
 * `Auth=` query values and the configured tokens are replaced by [redacted] in every line,
 * the functions' own output included.
 */
import type { InvokeOutcome } from './functions';

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

/** A sink that redacts `Auth=` values and the given secrets before writing. */
export function redactingSink(sink: LogSink, secrets: string[]): LogSink {
  const literal = secrets.filter((s) => s.length >= 4);
  return (line) => {
    let safe = line.replace(/([?&]Auth=)[^&\s"']*/gi, '$1[redacted]');
    for (const secret of literal) safe = safe.split(secret).join('[redacted]');
    sink(safe);
  };
}

/**
 * A function's own output line (the handlers log JSON): shown when `mode` is 'all', or when
 * it is a warning or an error; an error's stack follows on its own lines.
 */
export function functionOutputLines(
  functionId: string,
  line: string,
  mode: 'all' | 'errors' | 'none',
): string[] {
  if (mode === 'none') return [];
  let parsed: { level?: string; error?: { stack?: string } } | undefined;
  try {
    parsed = JSON.parse(line) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  const level = parsed?.level ?? 'info';
  if (mode === 'errors' && level !== 'error' && level !== 'warn' && parsed) return [];
  const stack = typeof parsed?.error?.stack === 'string' ? parsed.error.stack.split('\n').slice(1) : [];
  return [`    ${functionId} | ${line}`, ...stack.map((s) => `    ${functionId} |   ${s.trim()}`)];
}
