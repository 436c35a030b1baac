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

export const sendLimitsConfig = (env: Env = process.env) => ({
  perWindow: integer('SEND_RATE_LIMIT', 30, 1, 100_000, env),
  windowSeconds: integer('SEND_RATE_WINDOW_SECONDS', 10, 1, 3600, env),
});

export const fanoutConfig = (env: Env = process.env) => ({
  connectionsUrl: url('CONNECTIONS_URL', env),
  concurrency: integer('FANOUT_CONCURRENCY', 64, 1, 1000, env),
  deadLetterQueueUrl: url('DEAD_LETTER_QUEUE_URL', env),
  /** The queue's RedrivePolicy maxReceiveCount: the attempt on which the fanout parks a record itself. */
  maxReceiveCount: integer('MAX_RECEIVE_COUNT', 3, 1, 1000, env),
});

export const authConfig = (env: Env = process.env) => {
  const chatToken = requiredString('CHAT_AUTH_TOKEN', env);
  const adminToken = optionalString('ADMIN_AUTH_TOKEN', env);
  if (adminToken && adminToken === chatToken) {
    throw new ConfigError('ADMIN_AUTH_TOKEN must differ from CHAT_AUTH_TOKEN.');
  }
  return { chatToken, adminToken };
};
