/**
 * Loads a real handler module (functions/<name>/handler.ts) the way Lambda does on a cold
 * start: in a fresh module registry, reading the environment as it is now.
 */
export type HandlerName =
  | 'authorizer'
  | 'connect'
  | 'disconnect'
  | 'default'
  | 'enter-room'
  | 'exit-room'
  | 'send-message'
  | 'broadcast'
  | 'history'
  | 'fanout';

export function loadHandler<T>(name: HandlerName): T {
  let loaded: T | undefined;
  jest.isolateModules(() => {
    loaded = require(`../../functions/${name}/handler`) as T;
  });
  if (loaded === undefined) throw new Error(`functions/${name}/handler did not load`);
  return loaded;
}

/** Runs `fn` with extra environment variables set, restoring the previous values afterwards. */
export function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const previous = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(vars);
  try {
    return fn();
  } finally {
    apply(previous);
  }
}
