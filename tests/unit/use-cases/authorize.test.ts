import crypto from 'node:crypto';
import { authorize, tokensEqual } from '../../../functions/shared/use-cases/authorize';

const tokens = { chatToken: 'user-token-0123456789', adminToken: 'admin-token-0123456789' };

describe('authorize', () => {
  it('grants the user role for the chat token', () => {
    expect(authorize(tokens, tokens.chatToken)).toBe('user');
  });

  it('grants the admin role for the admin token', () => {
    expect(authorize(tokens, tokens.adminToken)).toBe('admin');
  });

  it.each([
    ['a wrong token', 'user-token-0123456788'],
    ['a prefix of the chat token', 'user-token'],
    ['the chat token with extra characters', `${tokens.chatToken}x`],
    ['the chat token in another case', tokens.chatToken.toUpperCase()],
    ['an empty token', ''],
    ['no token', undefined],
  ])('grants nothing for %s', (_name, presented) => {
    expect(authorize(tokens, presented)).toBeUndefined();
  });

  it('grants no admin role when the admin token is empty, even for an empty token', () => {
    const noAdmins = { chatToken: tokens.chatToken, adminToken: '' };

    expect(authorize(noAdmins, '')).toBeUndefined();
    expect(authorize(noAdmins, tokens.adminToken)).toBeUndefined();
    expect(authorize(noAdmins, tokens.chatToken)).toBe('user');
  });

  it('checks both tokens on every attempt, so timing does not tell which one matched', () => {
    const spy = jest.spyOn(crypto, 'timingSafeEqual');
    try {
      authorize(tokens, tokens.adminToken);
      authorize(tokens, 'wrong');

      expect(spy).toHaveBeenCalledTimes(4);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('tokensEqual', () => {
  it('is true for equal tokens', () => {
    expect(tokensEqual('s3cret-token', 's3cret-token')).toBe(true);
  });

  it('is false for tokens of different lengths, without throwing', () => {
    expect(tokensEqual('short', 'a-much-longer-token')).toBe(false);
  });

  it('is false for tokens of the same length that differ in the last character', () => {
    expect(tokensEqual('token-a', 'token-b')).toBe(false);
  });

  it('compares fixed-length digests with crypto.timingSafeEqual', () => {
    const spy = jest.spyOn(crypto, 'timingSafeEqual');
    try {
      tokensEqual('short', 'a-much-longer-token');

      expect(spy).toHaveBeenCalledTimes(1);
      const [a, b] = spy.mock.calls[0] as [Buffer, Buffer];
      expect(a.length).toBe(32);
      expect(b.length).toBe(32);
    } finally {
      spy.mockRestore();
    }
  });
});
