/**
 * The browser client in real Chromium (Debian's /usr/bin/chromium, headless, driven by
 * playwright-core) against the local gateway, which serves web/dist and the WebSocket on one
 * port. Two browser contexts are two people.
 *
 * UPDATE_SCREENSHOT=1 npm run test:e2e -- web   # also rewrites docs/screenshot-chat.png
 * E2E_LOG=1 npm run test:e2e -- web             # prints the local gateway's invocation log
 */
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
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
}

/** Opens the page in a fresh context; records every WebSocket it opens and every dialog. */
async function openPage(width = 1100, height = 720): Promise<Person> {
  const context = await browser.newContext({
    viewport: { width, height },
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  contexts.push(context);
  await context.addInitScript(() => {
    const Native = window.WebSocket;
    const sockets: WebSocket[] = [];
    (window as unknown as { __sockets: WebSocket[] }).__sockets = sockets;
    window.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
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
  await page.goto(stack.httpUrl);
  return {
    page,
    dialogs,
    dropSocket: () =>
      page.evaluate(() => {
        const sockets = (window as unknown as { __sockets: WebSocket[] }).__sockets;
        sockets.at(-1)?.close(4000, 'test: network drop');
      }),
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
