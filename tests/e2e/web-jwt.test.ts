/**
 * The browser page in jwt mode, in real Chromium against `npm start -- --auth jwt`'s stack:
 * signing in through the local issuer's login form (a user, and an admin who broadcasts), and
 * the OIDC authorization code flow with PKCE that the page uses for Cognito's hosted UI,
 * against the local issuer's /authorize and /token (oauth2-mock-server checks the S256
 * challenge itself).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { localSub } from '../../local/auth/issuer';
import { type LocalChat, startLocalChat } from '../../local/stack';
import { buildWeb } from '../../web/build';
import { connectionRecord } from './support/connection-record';
import { eventually } from './support/test-stack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WAIT = { timeout: 15_000 };

jest.setTimeout(120_000);

let stack: LocalChat;
let webRoot: string;
let browser: Browser;
let dynamodb: DynamoDBClient;
const dirs: string[] = [];
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  webRoot = mkdtempSync(path.join(tmpdir(), 'chat-web-jwt-'));
  dirs.push(webRoot);
  // The stack builds the page with its issuer's login form, as `npm start -- --auth jwt` does.
  stack = await startLocalChat({ port: 0, auth: 'jwt', webRoot, buildWeb: true, log: () => undefined });
  dynamodb = new DynamoDBClient({
    endpoint: stack.dynamoDbEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await browser?.close();
  dynamodb?.destroy();
  await stack?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function openPage(url = `${stack.httpUrl}/`): Promise<Page> {
  const context = await browser.newContext({ locale: 'en-GB', timezoneId: 'UTC' });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

async function signIn(page: Page, username: string, admin = false): Promise<void> {
  await page.getByRole('textbox', { name: 'Username' }).fill(username);
  if (admin) await page.getByRole('checkbox', { name: /admin/ }).check();
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.locator('#chat-view').waitFor({ state: 'visible', ...WAIT });
}

async function enter(page: Page, roomId: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Room id' }).fill(roomId);
  await page.getByRole('button', { name: 'Enter', exact: true }).click();
  await page.locator('#log .line.system', { hasText: /^You entered as / }).waitFor(WAIT);
}

/** The records of the connections open now, once there are `count` of them. */
async function openRecords(count: number) {
  const ids = await eventually(
    () => (stack.connectionIds().length === count ? stack.connectionIds() : undefined),
    `${count} open connections`,
  );
  return Promise.all(ids.map((id) => connectionRecord(dynamodb, stack.tableName, id)));
}

describe('web client in jwt mode', () => {
  it('signs in through the local issuer with a username instead of a token, and uses it as the nickname', async () => {
    const page = await openPage();
    expect(await page.getByRole('textbox', { name: 'Token' }).isVisible()).toBe(false);

    await signIn(page, 'Mikki');
    await enter(page, 'jwt-web');

    expect(await page.locator('#log .line.system').first().textContent()).toContain('You entered as Mikki');
    const [record] = await openRecords(1);
    expect(record).toEqual({ principalId: localSub('Mikki'), displayName: 'Mikki', role: 'user' });
  });

  it('signs an admin in, whose broadcast reaches a user as a banner', async () => {
    const mikki = await openPage();
    await signIn(mikki, 'Mikki');
    await enter(mikki, 'news');
    const roope = await openPage();
    await signIn(roope, 'Roope', true);
    await enter(roope, 'news');

    const box = roope.getByRole('textbox', { name: 'Message' });
    await box.fill('/broadcast Huoltokatko klo 18');
    await box.press('Enter');

    const banner = mikki.locator('#broadcasts .broadcast');
    await banner.waitFor(WAIT);
    expect(await banner.locator('.broadcast-text').textContent()).toBe('Huoltokatko klo 18');
  });

  it('signs in with the authorization code flow and PKCE (as with Cognito), then connects', async () => {
    const issuer = stack.issuer;
    if (!issuer) throw new Error('no issuer');
    // The OIDC build of the page, served by the gateway under /pkce/ (the WebSocket endpoint is
    // still the page's own host); the issuer sends the browser back there with ?code=&state=.
    await buildWeb(path.join(webRoot, 'pkce'), {
      signIn: {
        kind: 'oidc',
        authorizeUrl: `${issuer.authorizeUrl}?login_hint=Hessu`,
        tokenUrl: issuer.tokenUrl,
        clientId: issuer.clientId,
        scope: 'openid profile',
      },
    });
    const page = await openPage(`${stack.httpUrl}/pkce/index.html`);

    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Signed in as Hessu.').waitFor(WAIT);
    expect(page.url()).toBe(`${stack.httpUrl}/pkce/index.html`);
    expect(await page.getByRole('textbox', { name: 'Nickname' }).inputValue()).toBe('Hessu');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.locator('#chat-view').waitFor({ state: 'visible', ...WAIT });

    const [record] = await openRecords(1);
    expect(record).toMatchObject({ principalId: localSub('Hessu'), displayName: 'Hessu' });
  });
});
