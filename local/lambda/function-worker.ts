/**
 * The Lambda-like runtime inside one worker thread (one "sandbox" per function). Bundled
 * by esbuild next to the function bundles; the parent is local/lambda/sandboxes.ts.
 *
 * Init (module load with the function's environment) happens once, at spawn: handlers
 * read their configuration at cold start exactly as in Lambda. Each invocation gets a
 * Lambda-like context; results and errors go back JSON-serialised, as Lambda returns them.
 */
import { parentPort, workerData } from 'node:worker_threads';

export interface WorkerData {
  handlerFile: string;
  exportName: string;
  functionName: string;
  memorySize: number;
}

export type ToWorker = { type: 'invoke'; id: number; requestId: string; event: unknown; deadline: number };

export interface FunctionError {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

export type FromWorker =
  | { type: 'init'; ok: true; initMs: number }
  | { type: 'init'; ok: false; error: FunctionError }
  | { type: 'result'; id: number; ok: true; payload: string }
  | { type: 'result'; id: number; ok: false; error: FunctionError };

type Handler = (
  event: unknown,
  context: unknown,
  callback?: (error: unknown, result?: unknown) => void,
) => unknown;

const data = workerData as WorkerData;
const port = parentPort;
if (!port) throw new Error('function-worker must run in a worker thread');
const post = (message: FromWorker) => port.postMessage(message);

function toFunctionError(error: unknown, fallbackType = 'Error'): FunctionError {
  if (error instanceof Error) {
    return {
      errorType: error.name || fallbackType,
      errorMessage: error.message,
      trace: (error.stack ?? '').split('\n'),
    };
  }
  return { errorType: fallbackType, errorMessage: typeof error === 'string' ? error : JSON.stringify(error) };
}

if ((process.env.NODE_OPTIONS ?? '').includes('--enable-source-maps')) process.setSourceMapsEnabled(true);

// The template's runtime is nodejs22.x; the SDK's "please upgrade Node" notice is about the
// local Node, not about the function, so the local runtime keeps it out of function logs.
const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === 'string' ? warning : warning.message;
  if (!text.startsWith('NodeVersionSupportWarning')) emitWarning(warning, ...rest);
}) as typeof process.emitWarning;

let handler: Handler | undefined;
const initStarted = Date.now();
try {
  // A plain require of the function's bundle: this is the function's cold start.
  const mod = require(data.handlerFile) as Record<string, unknown>;
  const candidate = mod[data.exportName];
  if (typeof candidate !== 'function') {
    const error = new Error(`${data.handlerFile} does not export a function named ${data.exportName}`);
    error.name = 'Runtime.HandlerNotFound';
    throw error;
  }
  handler = candidate as Handler;
  post({ type: 'init', ok: true, initMs: Date.now() - initStarted });
} catch (error) {
  post({ type: 'init', ok: false, error: toFunctionError(error, 'Runtime.ImportModuleError') });
}

function lambdaContext(requestId: string, deadline: number) {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: data.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:123456789012:function:${data.functionName}`,
    memoryLimitInMB: String(data.memorySize),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${data.functionName}`,
    logStreamName: `${day}/[$LATEST]${requestId.replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function run(fn: Handler, event: unknown, context: unknown): Promise<unknown> {
  if (fn.length < 3) return Promise.resolve().then(() => fn(event, context));
  return new Promise((resolve, reject) => {
    const returned = fn(event, context, (error, result) => (error ? reject(error) : resolve(result)));
    if (returned && typeof (returned as Promise<unknown>).then === 'function') {
      (returned as Promise<unknown>).then(resolve, reject);
    }
  });
}

port.on('message', async (message: ToWorker) => {
  if (message.type !== 'invoke' || !handler) return;
  try {
    const result = await run(handler, message.event, lambdaContext(message.requestId, message.deadline));
    post({ type: 'result', id: message.id, ok: true, payload: JSON.stringify(result ?? null) });
  } catch (error) {
    post({ type: 'result', id: message.id, ok: false, error: toFunctionError(error) });
  }
});
