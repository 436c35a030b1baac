/**
 * The fanout's own SigV4 signer against @smithy/signature-v4 (what SDK v3 signs with): the
 * same Authorization for the same request, credentials and time, and the same on every later
 * post (the derived key and payload hash kept), a new key on a new day or secret.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import {
  escapeUri,
  type SigningCredentials,
  SigV4Signer,
} from '../../../functions/shared/adapters/sigv4-signer';
import { Sha256 } from '../../support/smithy-sha256';

const HOST = 'abc123defg.execute-api.eu-north-1.amazonaws.com';
const REGION = 'eu-north-1';
const AT = new Date('2030-05-17T09:08:07.654Z');

async function smithySigned(credentials: SigningCredentials, path: string, body: Buffer, at = AT) {
  const signer = new SignatureV4({
    credentials,
    region: REGION,
    service: 'execute-api',
    sha256: Sha256,
    applyChecksum: false,
  });
  const request = await signer.sign(
    { method: 'POST', protocol: 'https:', hostname: HOST, path, query: {}, headers: { host: HOST }, body },
    { signingDate: at },
  );
  return request.headers;
}

const signerFor = (credentials: SigningCredentials) =>
  new SigV4Signer({
    host: HOST,
    region: REGION,
    service: 'execute-api',
    credentials: async () => credentials,
  });

const KEYS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const pathOf = (connectionId: string) => `/prod/@connections/${escapeUri(connectionId)}`;

describe('SigV4Signer', () => {
  it.each([
    ['a plain connection id', 'L0SM9cOFvHcCIhw='],
    ['an id with + / = that the path escapes', 'Ab+c/d=='],
    ["an id with ! ' ( ) * that encodeURIComponent leaves alone", "x!y'z(1)*"],
  ])('signs a post to %s exactly as @smithy/signature-v4 does', async (_name, connectionId) => {
    const body = Buffer.from('{"type":"message","message":"Hyvää yötä 🌙"}');

    const ours = await signerFor(KEYS).sign('POST', pathOf(connectionId), body, AT);
    const theirs = await smithySigned(KEYS, pathOf(connectionId), body);

    expect(ours.authorization).toBe(theirs.authorization);
    expect(ours['x-amz-date']).toBe(theirs['x-amz-date']);
  });

  it('signs the session token of temporary credentials, as @smithy/signature-v4 does', async () => {
    const temporary = { ...KEYS, sessionToken: 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==' };
    const body = Buffer.from('hei');

    const ours = await signerFor(temporary).sign('POST', pathOf('c1='), body, AT);
    const theirs = await smithySigned(temporary, pathOf('c1='), body);

    expect(ours.authorization).toBe(theirs.authorization);
    expect(ours['x-amz-security-token']).toBe(temporary.sessionToken);
    expect(ours.authorization).toContain('SignedHeaders=host;x-amz-date;x-amz-security-token,');
  });

  it('keeps signing correctly with the kept key and hash: other recipients, another payload, the next day', async () => {
    const signer = signerFor(KEYS);
    const first = Buffer.from('one');
    const second = Buffer.from('two');
    const nextDay = new Date(AT.getTime() + 24 * 60 * 60 * 1000);
    const cases: [string, Buffer, Date][] = [
      ['a=', first, AT],
      ['b=', first, AT],
      ['b=', second, AT],
      ['b=', second, nextDay],
      ['a=', first, nextDay],
    ];

    for (const [connectionId, body, at] of cases) {
      const ours = await signer.sign('POST', pathOf(connectionId), body, at);
      expect(ours.authorization).toBe(
        (await smithySigned(KEYS, pathOf(connectionId), body, at)).authorization,
      );
    }
  });

  it('asks for credentials again shortly before they expire, and only once for posts at the same time', async () => {
    let calls = 0;
    const signer = new SigV4Signer({
      host: HOST,
      region: REGION,
      service: 'execute-api',
      credentials: async () => {
        calls += 1;
        return { ...KEYS, accessKeyId: `AKID${calls}`, expiration: new Date(AT.getTime() + 10 * 60 * 1000) };
      },
    });

    const together = await Promise.all(
      [1, 2, 3].map(() => signer.sign('POST', pathOf('a='), Buffer.from('x'), AT)),
    );
    const later = await signer.sign(
      'POST',
      pathOf('a='),
      Buffer.from('x'),
      new Date(AT.getTime() + 6 * 60 * 1000),
    );

    expect(together.map((h) => h.authorization.split('/')[0])).toEqual(
      Array(3).fill('AWS4-HMAC-SHA256 Credential=AKID1'),
    );
    expect(later.authorization).toContain('Credential=AKID2/');
    expect(calls).toBe(2);
  });
});
