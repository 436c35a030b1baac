import {
  audienceMatches,
  claimAt,
  displayNameOf,
  identityFromClaims,
  MAX_DISPLAY_NAME_LENGTH,
  roleOf,
  tokenUseOf,
} from '../../../functions/shared/auth/jwt-claims';

const rules = {
  audience: ['client-1'],
  tokenUse: 'access' as const,
  adminClaim: 'cognito:groups',
  adminValue: 'chat-admins',
};
const exp = Math.floor(Date.now() / 1000) + 60;

describe('tokenUseOf', () => {
  it.each([
    ['Cognito token_use access', {}, { token_use: 'access' }, 'access'],
    ['Cognito token_use id', {}, { token_use: 'id' }, 'id'],
    ['an RFC 9068 at+jwt header', { typ: 'at+jwt' }, {}, 'access'],
    ['application/at+jwt', { typ: 'application/at+jwt' }, {}, 'access'],
    ['Keycloak typ Bearer', {}, { typ: 'Bearer' }, 'access'],
    ['Keycloak typ ID', {}, { typ: 'ID' }, 'id'],
    ['an OIDC nonce (ID tokens only)', {}, { nonce: 'n' }, 'id'],
    ['an OIDC at_hash (ID tokens only)', {}, { at_hash: 'h' }, 'id'],
    ['nothing that tells', { typ: 'JWT' }, { scope: 'openid' }, undefined],
  ])('reads %s', (_name, header, payload, expected) => {
    expect(tokenUseOf(header, payload)).toBe(expected);
  });
});

describe('audienceMatches', () => {
  it('matches aud as a string or any entry of a list', () => {
    expect(audienceMatches({ aud: 'client-1' }, ['client-1'])).toBe(true);
    expect(audienceMatches({ aud: ['https://userinfo', 'client-1'] }, ['client-1'])).toBe(true);
    expect(audienceMatches({ aud: ['other'] }, ['client-1'])).toBe(false);
  });

  it('uses client_id only when there is no aud (Cognito access tokens)', () => {
    expect(audienceMatches({ client_id: 'client-1' }, ['client-1'])).toBe(true);
    expect(audienceMatches({ aud: 'other', client_id: 'client-1' }, ['client-1'])).toBe(false);
    expect(audienceMatches({}, ['client-1'])).toBe(false);
  });
});

describe('roleOf', () => {
  it.each([
    ['a group list (Cognito, Keycloak groups)', { 'cognito:groups': ['a', 'chat-admins'] }, rules, 'admin'],
    ['a group list without it', { 'cognito:groups': ['a'] }, rules, 'user'],
    ['no groups at all', {}, rules, 'user'],
    [
      'a space-separated string',
      { scope: 'openid chat-admins' },
      { adminClaim: 'scope', adminValue: 'chat-admins' },
      'admin',
    ],
    [
      'a URL-style claim name with dots (Auth0)',
      { 'https://chat.example/roles': ['admin'] },
      { adminClaim: 'https://chat.example/roles', adminValue: 'admin' },
      'admin',
    ],
    [
      'a dotted path (Keycloak realm roles)',
      { realm_access: { roles: ['admin'] } },
      { adminClaim: 'realm_access.roles', adminValue: 'admin' },
      'admin',
    ],
    ['a boolean claim', { is_admin: true }, { adminClaim: 'is_admin', adminValue: 'true' }, 'admin'],
    [
      'no admin claim configured',
      { 'cognito:groups': ['chat-admins'] },
      { adminClaim: '', adminValue: '' },
      'user',
    ],
    ['a prefix of the group name', { 'cognito:groups': ['chat-admins-old'] }, rules, 'user'],
  ])('reads %s', (_name, payload, configured, expected) => {
    expect(roleOf(payload, configured)).toBe(expected);
  });

  it('finds nothing through non-objects on a dotted path', () => {
    expect(claimAt({ a: 'text' }, 'a.b')).toBeUndefined();
    expect(claimAt({ a: [{ b: 1 }] }, 'a.b')).toBeUndefined();
  });
});

describe('displayNameOf', () => {
  it('prefers preferred_username, then name, then the username claims', () => {
    expect(displayNameOf({ preferred_username: 'Mikki', name: 'Mikki Hiiri' })).toBe('Mikki');
    expect(displayNameOf({ name: 'Mikki Hiiri', username: 'mikki' })).toBe('Mikki Hiiri');
    expect(displayNameOf({ username: 'mikki' })).toBe('mikki');
    expect(displayNameOf({ 'cognito:username': 'aku' })).toBe('aku');
  });

  it('never uses the e-mail address', () => {
    expect(displayNameOf({ email: 'mikki@example.com' })).toBeUndefined();
  });

  it('drops control and bidi characters, collapses spaces and skips names left empty', () => {
    expect(displayNameOf({ preferred_username: ' Mik\u202eki \n\t Hiiri\u0000 ' })).toBe('Mikki Hiiri');
    expect(displayNameOf({ preferred_username: '\u200b', name: 'Aku' })).toBe('Aku');
  });

  it(`cuts names to ${MAX_DISPLAY_NAME_LENGTH} characters, counting emoji as one`, () => {
    const name = displayNameOf({ name: '😀'.repeat(100) }) ?? '';

    expect(Array.from(name)).toHaveLength(MAX_DISPLAY_NAME_LENGTH);
  });
});

describe('identityFromClaims', () => {
  it('reads sub, display name and role', () => {
    expect(
      identityFromClaims(
        {},
        { sub: 's1', exp, client_id: 'client-1', token_use: 'access', username: 'Mikki' },
        rules,
      ),
    ).toEqual({ ok: true, identity: { role: 'user', principalId: 's1', sub: 's1', name: 'Mikki' } });
  });

  it('refuses the other kind of token, another audience, and missing sub or exp', () => {
    const good = { sub: 's1', exp, client_id: 'client-1' };
    expect(identityFromClaims({}, { ...good, token_use: 'id' }, rules)).toEqual({
      ok: false,
      reason: 'wrong_token_use',
    });
    expect(identityFromClaims({}, { ...good, client_id: 'x' }, rules)).toEqual({
      ok: false,
      reason: 'wrong_audience',
    });
    expect(identityFromClaims({}, { ...good, sub: '' }, rules)).toEqual({
      ok: false,
      reason: 'missing_claims',
    });
    expect(identityFromClaims({}, { ...good, sub: 'x'.repeat(257) }, rules)).toEqual({
      ok: false,
      reason: 'missing_claims',
    });
    expect(identityFromClaims({}, { ...good, exp: undefined }, rules)).toEqual({
      ok: false,
      reason: 'missing_claims',
    });
  });
});
