/**
 * Captures the structured log lines the handlers write to stdout, parsed, without printing
 * them. Call `restore()` (or use `afterEach`) when done.
 */
import { isMetricsLine } from '../../functions/shared/runtime/metrics';

export interface CapturedLogs {
  lines: string[];
  /** The log entries (metrics lines left out). */
  entries(): Record<string, unknown>[];
  /** The Embedded Metric Format lines the handlers flushed. */
  metrics(): Record<string, unknown>[];
  /** Everything written, as one string (for "never prints the token" checks). */
  text(): string;
  restore(): void;
}

export function captureStdout(): CapturedLogs {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    for (const line of text.split('\n')) if (line) lines.push(line);
    return true;
  });
  const parsed = () =>
    lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return {
    lines,
    entries: () => parsed().filter((entry) => !isMetricsLine(entry)),
    metrics: () => parsed().filter(isMetricsLine),
    text: () => lines.join('\n'),
    restore: () => spy.mockRestore(),
  };
}
