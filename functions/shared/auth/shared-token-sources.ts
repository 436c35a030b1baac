/**
 * Token mode's shared tokens from AWS Secrets Manager or SSM Parameter Store, read once at
 * cold start so they are not stored in plain text in the function's configuration. Loaded
 * only when TOKEN_SOURCE asks for it (the SDK clients then load; otherwise they never do).
 *
 * - Secrets Manager: a secret whose SecretString is {"chatToken": "...", "adminToken": "..."}
 *   (adminToken `none` = no admins).
 * - SSM: SecureString parameters <path>/chat-token and <path>/admin-token (`none` = no admins).
 *
 * Both values are checked like the environment's (trimmed, `none` or 16+ characters).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ConfigError, type SharedTokens, sharedTokens, type TokenSource } from '../runtime/config.js';

export type StoredTokenSource = Exclude<TokenSource, { kind: 'environment' }>;

export function tokensFromSecretString(secretId: string, secretString: string | undefined): SharedTokens {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString ?? '');
  } catch {
    throw new ConfigError(`Secret ${secretId} must hold JSON {"chatToken": "...", "adminToken": "..."}.`);
  }
  const { chatToken, adminToken } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<
    string,
    unknown
  >;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return sharedTokens(
    { where: `Secret ${secretId} chatToken`, value: text(chatToken) },
    { where: `Secret ${secretId} adminToken`, value: text(adminToken) },
  );
}

export async function readSharedTokens(
  source: StoredTokenSource,
  clients: { secretsManager?: SecretsManagerClient; ssm?: SSMClient } = {},
): Promise<SharedTokens> {
  if (source.kind === 'secretsmanager') {
    const client = clients.secretsManager ?? new SecretsManagerClient({});
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: source.secretId }));
    return tokensFromSecretString(source.secretId, SecretString);
  }
  const client = clients.ssm ?? new SSMClient({});
  const chatName = `${source.parameterPath}/chat-token`;
  const adminName = `${source.parameterPath}/admin-token`;
  const { Parameters = [], InvalidParameters = [] } = await client.send(
    new GetParametersCommand({ Names: [chatName, adminName], WithDecryption: true }),
  );
  if (InvalidParameters.length > 0) {
    throw new ConfigError(
      `SSM parameters not found: ${InvalidParameters.join(', ')} (use "none" for no admins).`,
    );
  }
  const parameter = (name: string) => Parameters.find((p) => p.Name === name)?.Value;
  return sharedTokens(
    { where: `SSM parameter ${chatName}`, value: parameter(chatName) },
    { where: `SSM parameter ${adminName}`, value: parameter(adminName) },
  );
}
