/**
 * Configuration, read once at cold start. Each function asks only for what it uses; a
 * missing or malformed variable fails the cold start with a message naming it.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function requiredString(name: string, env: Env = process.env): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`Environment variable ${name} is required but not set.`);
  return value;
}

export function optionalString(name: string, env: Env = process.env): string {
  return env[name] ?? '';
}

export function integer(
  name: string,
  fallback: number,
  min: number,
  max: number,
  env: Env = process.env,
): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`Environment variable ${name} must be an integer in ${min}..${max}, got "${raw}".`);
  }
  return value;
}

export function url(name: string, env: Env = process.env): string {
  const value = requiredString(name, env);
  try {
    return new URL(value).toString().replace(/\/$/, '');
  } catch {
    throw new ConfigError(`Environment variable ${name} must be a URL, got "${value}".`);
  }
}

export const tableConfig = (env: Env = process.env) => ({ tableName: requiredString('TABLE_NAME', env) });

export const queueConfig = (env: Env = process.env) => ({ queueUrl: url('QUEUE_URL', env) });

/** Per-connection budgets: `send` for messages, `control` for enterroom, exitroom and history. */
export const rateRulesConfig = (env: Env = process.env) => {
  const windowSeconds = integer('RATE_WINDOW_SECONDS', 10, 1, 3600, env);
  return {
    send: { limit: integer('SEND_RATE_LIMIT', 30, 1, 100_000, env), windowSeconds },
    control: { limit: integer('CONTROL_RATE_LIMIT', 20, 1, 100_000, env), windowSeconds },
  };
};

export const historyConfig = (env: Env = process.env) => ({
  retentionDays: integer('HISTORY_RETENTION_DAYS', 7, 1, 365, env),
});

export const historyConnectionsConfig = (env: Env = process.env) => ({
  connectionsUrl: url('CONNECTIONS_URL', env),
});

export const fanoutConfig = (env: Env = process.env) => ({
  connectionsUrl: url('CONNECTIONS_URL', env),
  concurrency: integer('FANOUT_CONCURRENCY', 64, 1, 1000, env),
  deadLetterQueueUrl: url('DEAD_LETTER_QUEUE_URL', env),
  /** Failed attempts at an event before the fanout parks it in the dead-letter queue itself. */
  maxAttempts: integer('MAX_ATTEMPTS', 3, 1, 100, env),
});

export const authConfig = (env: Env = process.env) => {
  const chatToken = requiredString('CHAT_AUTH_TOKEN', env);
  const adminToken = optionalString('ADMIN_AUTH_TOKEN', env);
  if (adminToken && adminToken === chatToken) {
    throw new ConfigError('ADMIN_AUTH_TOKEN must differ from CHAT_AUTH_TOKEN.');
  }
  return { chatToken, adminToken };
};
