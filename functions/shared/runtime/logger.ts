/**
 * Structured JSON logs, one object per line on stdout, under the keys Powertools Logger uses
 * (so its CloudWatch Logs Insights queries work): `level` (DEBUG, INFO, WARN, ERROR),
 * `message`, `timestamp` (RFC 3339), `service`, and, once `addContext` has seen the Lambda
 * context, `cold_start`, `function_name`, `function_memory_size`, `function_arn`,
 * `function_request_id` and `xray_trace_id`; then our own keys (route, connectionId, roomId, …).
 *
 * The level comes from `AWS_LAMBDA_LOG_LEVEL`, which Lambda sets from the function's
 * `LoggingConfig.ApplicationLogLevel`; with the JSON log format Lambda also drops lines below
 * that level by their `level` key, so both agree. `LOG_LEVEL` is the fallback outside Lambda.
 *
 * Secrets never reach the output, at any depth: values under keys that look like credentials
 * are masked, and `?Auth=`/`?token=` query values, bearer tokens and JWTs are redacted from
 * every string. The local stack and `npm run invoke` use the same `redact`.
 */
export type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
const ORDER: Record<string, number> = { TRACE: 5, DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40, FATAL: 50 };

const SECRET_KEY =
  /^(auth|authorization|proxy-authorization|cookie|set-cookie|credentials?|api[-_]?key|x-api-key|tokens?|.*token|.*secret|.*password|passphrase)$/i;
const SECRET_IN_TEXT: [RegExp, string][] = [
  // ?Auth=<token> (the chat's WebSocket handshake) and the usual token query parameters.
  [/([?&](?:auth|token|access_token|id_token|refresh_token)=)[^&\s"'#<>]*/gi, '$1[redacted]'],
  [/\b(bearer\s+)[\w.~+/=-]+/gi, '$1[redacted]'],
  // A JWT anywhere in a string (header.payload.signature, base64url, header starting {").
  [/\beyJ[\w-]*\.[\w-]+\.[\w-]*/g, '[redacted-jwt]'],
];
/** Deeper than this is not walked but replaced, never printed in clear. */
const MAX_DEPTH = 64;

export type LogFields = Record<string, unknown>;

export function redactText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_IN_TEXT) out = out.replace(pattern, replacement);
  return out;
}

/**
 * A copy of `value` safe to print: secret-looking keys masked and secrets in strings redacted
 * at every depth; errors become { name, message, stack, cause }; cycles become "[circular]".
 */
export function redact(value: unknown): unknown {
  const ancestors = new Set<object>();
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return redactText(v);
    if (typeof v === 'bigint') return String(v);
    if (typeof v !== 'object' || v === null) return v;
    if (depth > MAX_DEPTH) return '[too deep]';
    if (ancestors.has(v)) return '[circular]';
    ancestors.add(v);
    try {
      if (v instanceof Error) {
        const error = v as Error & { code?: unknown };
        return {
          name: error.name,
          message: walk(error.message, depth + 1),
          ...(error.code !== undefined ? { code: walk(error.code, depth + 1) } : {}),
          stack: walk(error.stack, depth + 1),
          ...(error.cause !== undefined ? { cause: walk(error.cause, depth + 1) } : {}),
        };
      }
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return walk(toJSON.call(v), depth + 1);
      if (Array.isArray(v)) return v.map((item) => walk(item, depth + 1));
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(v)) {
        out[key] =
          SECRET_KEY.test(key) && item !== undefined && item !== null ? '[redacted]' : walk(item, depth + 1);
      }
      return out;
    } finally {
      ancestors.delete(v);
    }
  };
  return walk(value, 0);
}

/** The parts of the Lambda context the logger reads (aws-lambda's Context satisfies it). */
export interface LambdaContextLike {
  functionName?: string;
  memoryLimitInMB?: string;
  invokedFunctionArn?: string;
  awsRequestId?: string;
}

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (and shares this one's Lambda context). */
  child(fields: LogFields): Logger;
  /**
   * Adds the invocation's Lambda context to every later line of this logger and its children
   * (call it first thing in the handler; a sandbox runs one invocation at a time).
   */
  addContext(context: LambdaContextLike | undefined): void;
}

/** The threshold: `AWS_LAMBDA_LOG_LEVEL` (LoggingConfig), else `LOG_LEVEL`, else INFO. */
export function logThreshold(env: Record<string, string | undefined> = process.env): number {
  const name = (env.AWS_LAMBDA_LOG_LEVEL || env.LOG_LEVEL || 'INFO').trim().toUpperCase();
  return ORDER[name] ?? ORDER.INFO ?? 20;
}

let firstRequestId: string | undefined;

/**
 * Whether this invocation is its sandbox's first (Powertools' `cold_start`). Keyed by request
 * id so that asking twice in one invocation gives the same answer; provisioned concurrency
 * initialises ahead of any request, so none of its invocations waits for a cold start.
 */
export function isColdStart(requestId: string | undefined): boolean {
  if (process.env.AWS_LAMBDA_INITIALIZATION_TYPE === 'provisioned-concurrency') return false;
  firstRequestId ??= requestId ?? '';
  return firstRequestId === (requestId ?? '');
}

/** The X-Ray trace id of the current invocation (Lambda sets _X_AMZN_TRACE_ID per invocation). */
function traceId(): string | undefined {
  return /Root=([^;]+)/.exec(process.env._X_AMZN_TRACE_ID ?? '')?.[1];
}

export function createLogger(
  service: string,
  base: LogFields = {},
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Logger {
  return makeLogger(service, base, write, logThreshold(), { fields: {} });
}

function makeLogger(
  service: string,
  base: LogFields,
  write: (line: string) => void,
  threshold: number,
  lambda: { fields: LogFields },
): Logger {
  const log = (level: Level, message: string, fields: LogFields = {}) => {
    if ((ORDER[level] ?? 0) < threshold) return;
    const xray = traceId();
    const standard = { level, message, timestamp: new Date().toISOString(), service };
    // Standard keys first and never overridden by fields (as Powertools does).
    const entry = {
      ...standard,
      ...lambda.fields,
      ...(xray ? { xray_trace_id: xray } : {}),
      ...base,
      ...fields,
      ...standard,
    };
    write(JSON.stringify(redact(entry)));
  };
  return {
    debug: (m, f) => log('DEBUG', m, f),
    info: (m, f) => log('INFO', m, f),
    warn: (m, f) => log('WARN', m, f),
    error: (m, f) => log('ERROR', m, f),
    child: (fields) => makeLogger(service, { ...base, ...fields }, write, threshold, lambda),
    addContext(context) {
      if (!context) return;
      const memory = Number(context.memoryLimitInMB);
      lambda.fields = {
        cold_start: isColdStart(context.awsRequestId),
        function_name: context.functionName,
        ...(Number.isFinite(memory) && memory > 0 ? { function_memory_size: memory } : {}),
        function_arn: context.invokedFunctionArn,
        function_request_id: context.awsRequestId,
      };
    },
  };
}
