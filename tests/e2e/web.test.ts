/**
 * The browser client in real Chromium (Debian's /usr/bin/chromium, headless, driven by
 * playwright-core) against the local gateway, which serves web/dist and the WebSocket on one
 * port. Two browser contexts are two people.
 *
 * UPDATE_SCREENSHOT=1 npm run test:e2e -- web   # also rewrites docs/screenshot-chat.png
 * E2E_LOG=1 npm run test:e2e -- web             # prints the local gateway's invocation log
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { serveStatic } from '../../local/gateway/static-files';
import { startLocalChat } from '../../local/stack';
import { buildWeb } from '../../web/build';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = path.join(__dirname, '../../docs/screenshot-chat.png');
const WAIT = { timeout: 15_000 };

jest.setTimeout(120_000);

type Stack = Awaited<ReturnType<typeof startLocalChat>>;

let stack: Stack;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  await buildWeb(path.join(__dirname, '../../web/dist'));
  // The gateway's one-line-per-invocation log only with E2E_LOG=1; errors always reach stderr.
  stack = await startLocalChat({
    port: 0,
    log: process.env.E2E_LOG ? (line) => process.stdout.write(`${line}\n`) : () => undefined,
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

interface Person {
  page: Page;
  dialogs: string[];
  /** Closes the page's current WebSocket from inside the page, as a dropped network would. */
  dropSocket(): Promise<void>;
  /** While offline, every new WebSocket fails at once (the page keeps retrying with backoff). */
  setOffline(offline: boolean): Promise<void>;
}

/** Opens the page in a fresh context; records every WebSocket it opens and every dialog. */
async function openPage(width = 1100, height = 720, url = stack.httpUrl): Promise<Person> {
  const context = await browser.newContext({
    viewport: { width, height },
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  contexts.push(context);
  await context.addInitScript(() => {
    const Native = window.WebSocket;
    const sockets: WebSocket[] = [];
    const test = window as unknown as { __sockets: WebSocket[]; __offline: boolean };
    test.__sockets = sockets;
    test.__offline = false;
    window.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        if (test.__offline) throw new Error('offline (test)');
        super(url, protocols);
        sockets.push(this);
      }
    };
  });
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(url);
  return {
    page,
    dialogs,
    dropSocket: () =>
      page.evaluate(() => {
        const sockets = (window as unknown as { __sockets: WebSocket[] }).__sockets;
        sockets.at(-1)?.close(4000, 'test: network drop');
      }),
    setOffline: (offline) =>
      page.evaluate((value) => {
        (window as unknown as { __offline: boolean }).__offline = value;
      }, offline),
  };
}

async function connect(person: Person, nickname: string, token = stack.chatToken): Promise<void> {
  const { page } = person;
  await page.getByRole('textbox', { name: 'Token' }).fill(token);
  await page.getByRole('textbox', { name: 'Nickname' }).fill(nickname);
  await page.getByRole('button', { name: 'Connect' }).click();
}

async function join(nickname: string, roomId: string): Promise<Person> {
  const person = await openPage();
  await connect(person, nickname);
  await enter(person, roomId);
  return person;
}

async function enter(person: Person, roomId: string): Promise<void> {
  const { page } = person;
  await page.getByRole('textbox', { name: 'Room id' }).fill(roomId);
  await page.getByRole('button', { name: 'Enter', exact: true }).click();
  await line(page, 'system', /^You entered as /).waitFor(WAIT);
}

async function say(person: Person, text: string): Promise<void> {
  const box = person.page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

function line(page: Page, kind: 'message' | 'system' | 'error', text: string | RegExp) {
  return page.locator(`#log .line.${kind}`, { hasText: text });
}

async function members(page: Page): Promise<string[]> {
  return page
    .locator('#member-list .member')
    .evaluateAll((items) => items.map((item) => item.firstChild?.textContent ?? ''));
}

describe('web client', () => {
  it('lets two people talk in a room, and shows the other leaving', async () => {
    const mikki = await join('Mikki', '1');
    const aku = await join('Aku', '1');
    await line(mikki.page, 'system', 'Aku joined').waitFor(WAIT);
    expect(await members(mikki.page)).toEqual(['Aku', 'Mikki']);

    await say(mikki, 'Hei kaikki!');
    await say(aku, 'Moi Mikki, mitä kuuluu?');
    await line(aku.page, 'message', 'Hei kaikki!').waitFor(WAIT);
    await line(mikki.page, 'message', 'Moi Mikki, mitä kuuluu?').waitFor(WAIT);

    const own = line(mikki.page, 'message', 'Hei kaikki!');
    expect(await own.getAttribute('class')).toContain('own');
    expect(await own.locator('.from').textContent()).toBe('Mikki');
    expect(await line(mikki.page, 'message', 'mitä kuuluu').getAttribute('class')).not.toContain('own');
    expect(await mikki.page.locator('#log .line.message').count()).toBe(2);

    await aku.page.getByRole('button', { name: 'Leave' }).click();
    await line(mikki.page, 'system', 'Aku left the room').waitFor(WAIT);
    expect(await members(mikki.page)).toEqual(['Mikki']);
    await aku.page
      .locator('#room-list .room-tab')
      .first()
      .waitFor({ state: 'detached', ...WAIT });

    if (process.env.UPDATE_SCREENSHOT) await takeScreenshot(mikki, aku);
  });

  it('shows an HTML payload as text and runs nothing', async () => {
    const payload = '<img src=x onerror=alert(1)><script>alert(2)</script>';
    const mikki = await join('Mikki', 'xss');
    const aku = await join('Aku', 'xss');

    await say(mikki, payload);
    const seen = line(aku.page, 'message', 'onerror');
    await seen.waitFor(WAIT);

    expect(await seen.locator('.text').textContent()).toBe(payload);
    expect(await aku.page.locator('#log img, #log script').count()).toBe(0);
    expect(await mikki.page.locator('#log img, #log script').count()).toBe(0);
    expect([...mikki.dialogs, ...aku.dialogs]).toEqual([]);
  });

  it('reconnects after a dropped connection, re-enters the room and keeps receiving', async () => {
    const mikki = await join('Mikki', 'drop');
    const aku = await join('Aku', 'drop');
    await line(mikki.page, 'system', 'Aku joined').waitFor(WAIT);

    await mikki.dropSocket();
    await line(mikki.page, 'system', /Connection lost/).waitFor(WAIT);
    await line(mikki.page, 'system', 'You are back in the room as Mikki').waitFor(WAIT);
    expect(await mikki.page.locator('#status').textContent()).toBe('Connected');
    expect(await members(mikki.page)).toEqual(['Aku', 'Mikki']);

    await line(aku.page, 'system', 'Mikki disconnected').waitFor(WAIT);
    await say(aku, 'Oletko taas täällä?');
    await line(mikki.page, 'message', 'Oletko taas täällä?').waitFor(WAIT);
    await say(mikki, 'Olen!');
    await line(aku.page, 'message', 'Olen!').waitFor(WAIT);
  });

  it('resumes after being offline: what was said meanwhile appears in place, once, before "back in the room"', async () => {
    const mikki = await join('Mikki', 'resume');
    const aku = await join('Aku', 'resume');
    await line(mikki.page, 'system', 'Aku joined').waitFor(WAIT);
    await say(aku, 'ennen katkosta');
    await line(mikki.page, 'message', 'ennen katkosta').waitFor(WAIT);

    await mikki.setOffline(true);
    await mikki.dropSocket();
    await line(aku.page, 'system', 'Mikki disconnected').waitFor(WAIT);
    await say(aku, 'kun olit poissa 1');
    await line(aku.page, 'message', 'kun olit poissa 1').waitFor(WAIT);
    await say(aku, 'kun olit poissa 2');
    await line(aku.page, 'message', 'kun olit poissa 2').waitFor(WAIT);
    await mikki.setOffline(false);
    await mikki.page
      .getByRole('button', { name: /Reconnect now/ })
      .click()
      .catch(() => undefined);

    await line(mikki.page, 'system', 'You are back in the room as Mikki').waitFor(WAIT);
    await line(mikki.page, 'message', 'kun olit poissa 2').waitFor(WAIT);
    const lines = await mikki.page.locator('#log .line').allTextContents();
    const at = (text: string) => lines.findIndex((l) => l.includes(text));
    const count = (text: string) => lines.filter((l) => l.includes(text)).length;
    expect(count('kun olit poissa 1')).toBe(1);
    expect(count('kun olit poissa 2')).toBe(1);
    expect(count('ennen katkosta')).toBe(1);
    expect(at('ennen katkosta')).toBeLessThan(at('kun olit poissa 1'));
    expect(at('kun olit poissa 1')).toBeLessThan(at('kun olit poissa 2'));
    expect(at('kun olit poissa 2')).toBeLessThan(at('You are back in the room as Mikki'));

    await say(aku, 'tervetuloa takaisin');
    await line(mikki.page, 'message', 'tervetuloa takaisin').waitFor(WAIT);
  });

  it('says the connection was refused when the token is wrong', async () => {
    const person = await openPage();
    await connect(person, 'Mikki', 'not-the-token');
    const problem = person.page.locator('#connect-problem');
    await problem.waitFor({ state: 'visible', ...WAIT });
    expect(await problem.textContent()).toMatch(/refused the connection.*token/);
    expect(await person.page.locator('#status').textContent()).toBe('Rejected');
  });

  it('shows an admin broadcast as a banner, and tells a normal user it is not allowed', async () => {
    const mikki = await join('Mikki', 'news');
    const admin = await openPage();
    await connect(admin, 'Roope', stack.adminToken);
    await enter(admin, 'news');

    await say(mikki, '/broadcast Hello everyone');
    await mikki.page.locator('#notices .notice.error').waitFor(WAIT);
    expect(await mikki.page.locator('#notices').textContent()).toMatch(/admin/i);

    await say(admin, '/broadcast Huoltokatko klo 18');
    const banner = mikki.page.locator('#broadcasts .broadcast');
    await banner.waitFor(WAIT);
    expect(await banner.locator('.broadcast-text').textContent()).toBe('Huoltokatko klo 18');
    await banner.getByRole('button', { name: /Dismiss/ }).click();
    await banner.waitFor({ state: 'detached', ...WAIT });
  });

  it('is usable on a narrow screen', async () => {
    const person = await openPage(375, 700);
    await connect(person, 'Hessu');
    await enter(person, 'mobile');
    await say(person, 'Toimii puhelimellakin');
    await line(person.page, 'message', 'Toimii puhelimellakin').waitFor(WAIT);
    const overflow = await person.page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBe(0);
    await person.page.getByRole('button', { name: /member/ }).click();
    expect(await members(person.page)).toEqual(['Hessu']);
    expect(await person.page.locator('#members').isVisible()).toBe(true);
  });
});

/** Serves a separate build of the page (e.g. one with an endpoint built in) on its own port. */
async function servePage(options: { endpoint?: string }): Promise<{ url: string; close(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'chat-web-'));
  await buildWeb(dir, options);
  const server: Server = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (!serveStatic(dir, req, res, pathname)) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The URLs of the WebSockets the page opened (tokens included: the test's own browser). */
const socketUrls = (page: Page) =>
  page.evaluate(() => (window as unknown as { __sockets: WebSocket[] }).__sockets.map((s) => s.url));

describe('web page security', () => {
  const EVIL = 'wss://evil.example/steal';

  it('ignores ?endpoint= when an endpoint is built in, so a crafted link cannot take the token elsewhere', async () => {
    const site = await servePage({ endpoint: stack.wsUrl });
    try {
      const admin = await openPage(1100, 720, `${site.url}?endpoint=${encodeURIComponent(EVIL)}`);
      const endpoint = admin.page.getByRole('textbox', { name: 'WebSocket endpoint' });

      expect(await endpoint.inputValue()).toBe(stack.wsUrl);
      expect(await endpoint.getAttribute('readonly')).not.toBeNull();
      expect(await admin.page.locator('#endpoint-warning').isVisible()).toBe(false);

      await connect(admin, 'Roope', stack.adminToken);
      await admin.page.locator('#status', { hasText: 'Connected' }).waitFor(WAIT);
      const urls = await socketUrls(admin.page);
      expect(urls.length).toBeGreaterThan(0);
      for (const url of urls) expect(new URL(url).host).toBe(new URL(stack.wsUrl).host);
    } finally {
      await site.close();
    }
  });

  it('uses ?endpoint= when none is built in, and warns when it names another host', async () => {
    const foreign = await openPage(1100, 720, `${stack.httpUrl}/?endpoint=${encodeURIComponent(EVIL)}`);
    const own = await openPage(1100, 720, `${stack.httpUrl}/?endpoint=${encodeURIComponent(stack.wsUrl)}`);
    const warning = foreign.page.locator('#endpoint-warning');

    expect(await foreign.page.getByRole('textbox', { name: 'WebSocket endpoint' }).inputValue()).toBe(EVIL);
    await warning.waitFor({ state: 'visible', ...WAIT });
    expect(await warning.textContent()).toMatch(/evil\.example.*token/);
    expect(await own.page.locator('#endpoint-warning').isVisible()).toBe(false);
  });

  it('serves the page with a Content-Security-Policy that allows no inline script', async () => {
    const { page, violations } = await openRecordingViolations();

    const response = await page.goto(stack.httpUrl);
    const header = response?.headers()['content-security-policy'] ?? '';
    const meta = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__inlineRan = true;';
      document.body.append(script);
    });

    expect(header).toMatch(/script-src 'self'(;|$)/);
    expect(header).toContain("frame-ancestors 'none'");
    expect(header).not.toContain('unsafe-inline');
    expect(meta).toMatch(/script-src 'self'(;|$)/);
    await waitUntil(() => violations.includes('script-src-elem'));
    expect(
      await page.evaluate(() => (window as unknown as { __inlineRan?: boolean }).__inlineRan),
    ).toBeUndefined();
  });

  it('lets a page with a built-in endpoint open WebSockets to that endpoint only', async () => {
    const site = await servePage({ endpoint: stack.wsUrl });
    try {
      const { page, violations } = await openRecordingViolations();
      await page.goto(site.url);
      // The same local gateway under another name: a working endpoint, but not the built-in one.
      const elsewhere = `ws://localhost:${new URL(stack.wsUrl).port}/?Auth=${stack.chatToken}`;

      const meta = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
      const outcome = await page.evaluate(
        (url) =>
          new Promise<string>((resolve) => {
            try {
              const socket = new WebSocket(url);
              socket.onerror = () => resolve('error');
              socket.onopen = () => resolve('open');
            } catch (error) {
              resolve((error as Error).name);
            }
          }),
        elsewhere,
      );

      expect(outcome).not.toBe('open');
      await waitUntil(() => violations.includes('connect-src'));
      expect(meta).toContain(`connect-src ${new URL(stack.wsUrl).origin};`);
    } finally {
      await site.close();
    }
  });
});

/** A fresh page that records the directive of every Content-Security-Policy violation. */
async function openRecordingViolations(): Promise<{ page: Page; violations: string[] }> {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  const violations: string[] = [];
  await page.exposeFunction('reportViolation', (directive: string) => violations.push(directive));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) =>
      (window as unknown as { reportViolation(d: string): void }).reportViolation(event.effectiveDirective),
    );
  });
  return { page, violations };
}

async function waitUntil(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT.timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function waitForMembers(page: Page, expected: string[]): Promise<void> {
  const deadline = Date.now() + WAIT.timeout;
  while (JSON.stringify(await members(page)) !== JSON.stringify(expected)) {
    if (Date.now() > deadline) throw new Error(`members never became ${expected.join(', ')}`);
    await page.waitForTimeout(50);
  }
}

/** A conversation for the README: four people in room 1 and an unread room on the side. */
async function takeScreenshot(mikki: Person, aku: Person): Promise<void> {
  const hessu = await join('Hessu', '1');
  const roope = await join('Roope', '1');
  await enter(aku, '1');
  await waitForMembers(mikki.page, ['Aku', 'Hessu', 'Mikki', 'Roope']);
  const conversation: Array<[Person, string]> = [
    [hessu, 'Terve! Onko kokous vielä klo 15?'],
    [roope, 'On. Tuokaa kuitit mukaan, kaikki.'],
    [aku, 'Minulla on vain <b>yksi</b> kuitti...'],
    [mikki, 'Selvä, tulen paikalle.'],
  ];
  for (const [person, text] of conversation) {
    await say(person, text);
    await line(mikki.page, 'message', text).waitFor(WAIT);
  }
  await enter(hessu, 'ankkalinna');
  await enter(mikki, 'ankkalinna');
  await mikki.page.locator('#room-list [data-room="1"]').click();
  await say(hessu, 'Kuka tuo pullat?');
  await mikki.page.locator('#room-list [data-room="ankkalinna"] .unread').waitFor(WAIT);
  await roope.page.getByRole('button', { name: 'Leave' }).click();
  await line(mikki.page, 'system', 'Roope left the room').waitFor(WAIT);
  await mikki.page.getByRole('textbox', { name: 'Message' }).fill('Nähdään kohta!');
  await mikki.page.screenshot({ path: SCREENSHOT });
}
