/**
 * Reading token mode's shared tokens from Secrets Manager or SSM at cold start. The SDK
 * clients' `send` is replaced to see the requests made and to answer them; the values are
 * checked like the environment's.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParametersCommand, type SSMClient } from '@aws-sdk/client-ssm';
import {
  readSharedTokens,
  tokensFromSecretString,
} from '../../../functions/shared/auth/shared-token-sources';
import { ConfigError } from '../../../functions/shared/runtime/config';

const CHAT = 'chat-token-0123456789';
const ADMIN = 'admin-token-0123456789';

function answering<T>(answer: unknown): { client: T; sent: unknown[] } {
  const sent: unknown[] = [];
  const client = {
    send: async (command: unknown) => {
      sent.push(command);
      return answer;
    },
  } as unknown as T;
  return { client, sent };
}

describe('tokens from a Secrets Manager secret', () => {
  it('reads chatToken and adminToken from the secret JSON with one GetSecretValue', async () => {
    const { client, sent } = answering<SecretsManagerClient>({
      SecretString: JSON.stringify({ chatToken: CHAT, adminToken: ADMIN }),
    });

    const tokens = await readSharedTokens(
      { kind: 'secretsmanager', secretId: 'chat/tokens' },
      { secretsManager: client },
    );

    expect(tokens).toEqual({ chatToken: CHAT, adminToken: ADMIN });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeInstanceOf(GetSecretValueCommand);
    expect((sent[0] as GetSecretValueCommand).input).toEqual({ SecretId: 'chat/tokens' });
  });

  it.each([
    ['not JSON', 'chat-token-0123456789'],
    ['JSON without chatToken', JSON.stringify({ adminToken: ADMIN })],
    ['a short chat token', JSON.stringify({ chatToken: 'short', adminToken: 'none' })],
  ])('fails the cold start with a ConfigError naming the secret when it holds %s', (_name, secret) => {
    let error: unknown;
    try {
      tokensFromSecretString('chat/tokens', secret);
    } catch (e) {
      error = e;
    }

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('chat/tokens');
    expect((error as Error).message).not.toContain(CHAT);
  });

  it('reads adminToken "none" as no admins', () => {
    expect(tokensFromSecretString('s', JSON.stringify({ chatToken: CHAT, adminToken: 'none' }))).toEqual({
      chatToken: CHAT,
      adminToken: '',
    });
  });
});

describe('tokens from SSM SecureString parameters', () => {
  it('reads <path>/chat-token and <path>/admin-token, decrypted, in one GetParameters', async () => {
    const { client, sent } = answering<SSMClient>({
      Parameters: [
        { Name: '/chat/admin-token', Value: 'none' },
        { Name: '/chat/chat-token', Value: ` ${CHAT} ` },
      ],
      InvalidParameters: [],
    });

    const tokens = await readSharedTokens({ kind: 'ssm', parameterPath: '/chat' }, { ssm: client });

    expect(tokens).toEqual({ chatToken: CHAT, adminToken: '' });
    expect(sent[0]).toBeInstanceOf(GetParametersCommand);
    expect((sent[0] as GetParametersCommand).input).toEqual({
      Names: ['/chat/chat-token', '/chat/admin-token'],
      WithDecryption: true,
    });
  });

  it('fails with a ConfigError naming a missing parameter', async () => {
    const { client } = answering<SSMClient>({
      Parameters: [{ Name: '/chat/chat-token', Value: CHAT }],
      InvalidParameters: ['/chat/admin-token'],
    });

    await expect(readSharedTokens({ kind: 'ssm', parameterPath: '/chat' }, { ssm: client })).rejects.toThrow(
      /\/chat\/admin-token/,
    );
  });
});
