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

export const fanoutConfig = (env: Env = process.env) => {
  /** How the fanout posts: 'signed' (its own SigV4 on undici) or 'sdk' (the SDK's management API client). */
  const notifier = oneOf('FANOUT_NOTIFIER', ['signed', 'sdk'] as const, 'signed', env);
  return {
    connectionsUrl: url('CONNECTIONS_URL', env),
    concurrency: integer('FANOUT_CONCURRENCY', 64, 1, 1000, env),
    deadLetterQueueUrl: url('DEAD_LETTER_QUEUE_URL', env),
    /** Failed attempts at an event before the fanout parks it in the dead-letter queue itself. */
    maxAttempts: integer('MAX_ATTEMPTS', 3, 1, 100, env),
    notifier,
    /** The region signed posts are signed for (Lambda sets AWS_REGION). */
    region: notifier === 'signed' ? requiredString('AWS_REGION', env) : '',
    /** Rooms with more members than this are delivered in slices by parallel fanouts. */
    sliceSize: integer('FANOUT_SLICE_SIZE', 1000, 1, 1_000_000, env),
    /** Slices of every roster: fixed for a table's life (tests use few, on a fresh table). */
    slices: integer('FANOUT_SLICES', 100, 1, 1000, env),
  };
};

/** Shared tokens need at least this many characters (template.yaml's AllowedPattern says the same). */
export const MIN_SHARED_TOKEN_LENGTH = 16;
/** The explicit "not set" value of a token parameter (`sam deploy --guided` cannot take an empty secret). */
export const NO_TOKEN = 'none';

/**
 * A shared token, trimmed and checked: `none` or empty is "not set" (''); anything else needs
 * MIN_SHARED_TOKEN_LENGTH characters and no whitespace. `where` names the source in errors;
 * the value itself never appears in a message.
 */
export function sharedToken(where: string, raw: string | undefined): string {
  const value = raw?.trim() ?? '';
  if (value === '' || value === NO_TOKEN) return '';
  if (value.length < MIN_SHARED_TOKEN_LENGTH || /\s/.test(value)) {
    throw new ConfigError(
      `${where} must be "${NO_TOKEN}" or at least ${MIN_SHARED_TOKEN_LENGTH} characters without spaces.`,
    );
  }
  return value;
}

export interface SharedTokens {
  chatToken: string;
  /** '' = no admins. */
  adminToken: string;
}

/** Checks a pair of shared tokens, wherever they were read from (environment, Secrets Manager, SSM). */
export function sharedTokens(
  chat: { where: string; value: string | undefined },
  admin: { where: string; value: string | undefined },
): SharedTokens {
  const chatToken = sharedToken(chat.where, chat.value);
  if (!chatToken) throw new ConfigError(`${chat.where} is required in token mode (not "${NO_TOKEN}").`);
  const adminToken = sharedToken(admin.where, admin.value);
  if (adminToken && adminToken === chatToken) {
    throw new ConfigError(`${admin.where} must differ from ${chat.where}.`);
  }
  return { chatToken, adminToken };
}

/** Where token mode's shared tokens come from. */
export type TokenSource =
  | ({ kind: 'environment' } & SharedTokens)
  /** A Secrets Manager secret (name or ARN) holding {"chatToken": "...", "adminToken": "..."}. */
  | { kind: 'secretsmanager'; secretId: string }
  /** SSM SecureString parameters <path>/chat-token and <path>/admin-token. */
  | { kind: 'ssm'; parameterPath: string };

export interface JwtSettings {
  issuer: string;
  /** Accepted `aud` values, or `client_id` values for tokens without `aud` (Cognito access tokens). */
  audience: string[];
  jwksUri: string;
  tokenUse: 'access' | 'id';
  /** A claim (a name, or a dotted path such as realm_access.roles) and the value that makes an admin; '' = no admins. */
  adminClaim: string;
  adminValue: string;
}

export type AuthConfig = { mode: 'token'; tokens: TokenSource } | { mode: 'jwt'; jwt: JwtSettings };

function oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T, env: Env): T {
  const raw = env[name]?.trim() || fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`Environment variable ${name} must be one of ${allowed.join(', ')}, got "${raw}".`);
  }
  return raw as T;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** An https:// URL, or http:// on this machine's loopback (the local issuer). */
function keyUrl(name: string, value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(`Environment variable ${name} must be a URL, got "${value}".`);
  }
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname))) {
    throw new ConfigError(`Environment variable ${name} must be an https:// URL (http:// only on loopback).`);
  }
  return value;
}

function jwtSettings(env: Env): JwtSettings {
  // The issuer is compared verbatim with `iss`, so it is kept exactly as given (trailing slash included).
  const issuer = keyUrl('JWT_ISSUER', requiredString('JWT_ISSUER', env));
  const audience = requiredString('JWT_AUDIENCE', env)
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  if (audience.length === 0) throw new ConfigError('Environment variable JWT_AUDIENCE names no audience.');
  const jwksUri = keyUrl(
    'JWT_JWKS_URI',
    env.JWT_JWKS_URI?.trim() || `${issuer.replace(/\/$/, '')}/.well-known/jwks.json`,
  );
  const adminValue = env.JWT_ADMIN_VALUE?.trim() ?? 'chat-admins';
  return {
    issuer,
    audience,
    jwksUri,
    tokenUse: oneOf('JWT_TOKEN_USE', ['access', 'id'] as const, 'access', env),
    adminClaim: adminValue === NO_TOKEN ? '' : (env.JWT_ADMIN_CLAIM?.trim() ?? 'cognito:groups'),
    adminValue: adminValue === NO_TOKEN ? '' : adminValue,
  };
}

function tokenSource(env: Env): TokenSource {
  const kind = oneOf('TOKEN_SOURCE', ['environment', 'secretsmanager', 'ssm'] as const, 'environment', env);
  if (kind === 'secretsmanager') return { kind, secretId: requiredString('TOKEN_SOURCE_NAME', env) };
  if (kind === 'ssm') {
    const parameterPath = requiredString('TOKEN_SOURCE_NAME', env).replace(/\/+$/, '');
    if (!parameterPath.startsWith('/')) {
      throw new ConfigError('Environment variable TOKEN_SOURCE_NAME must be an SSM path starting with "/".');
    }
    return { kind, parameterPath };
  }
  return {
    kind,
    ...sharedTokens(
      { where: 'Environment variable CHAT_AUTH_TOKEN', value: env.CHAT_AUTH_TOKEN },
      { where: 'Environment variable ADMIN_AUTH_TOKEN', value: env.ADMIN_AUTH_TOKEN },
    ),
  };
}

/**
 * The authorizer's configuration. AUTH_MODE `token` (default): shared tokens from the
 * environment or, with TOKEN_SOURCE, from Secrets Manager / SSM (read at cold start by the
 * authorizer). AUTH_MODE `jwt`: JWT_ISSUER, JWT_AUDIENCE, JWT_JWKS_URI (default
 * <issuer>/.well-known/jwks.json), JWT_TOKEN_USE (access | id), JWT_ADMIN_CLAIM and
 * JWT_ADMIN_VALUE (`none` = no admins).
 */
export function authConfig(env: Env = process.env): AuthConfig {
  const mode = oneOf('AUTH_MODE', ['token', 'jwt'] as const, 'token', env);
  return mode === 'jwt' ? { mode, jwt: jwtSettings(env) } : { mode, tokens: tokenSource(env) };
}
