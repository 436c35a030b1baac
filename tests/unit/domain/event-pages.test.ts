import fc from 'fast-check';
import { listedMembers, pagesByBytes } from '../../../functions/shared/domain/event-pages';
import { type RoomLogEvent, serverEvent } from '../../../functions/shared/domain/protocol';
import {
  MAX_EVENT_BYTES,
  MAX_LISTED_MEMBERS,
  MAX_MESSAGE_BYTES,
  MAX_ROOM_ID_LENGTH,
  utf8Bytes,
} from '../../../functions/shared/domain/rules';

const ROOM = 'r'.repeat(MAX_ROOM_ID_LENGTH);
const at = '2030-01-01T12:00:00.000Z';

const message = (seq: number, text: string): RoomLogEvent => ({
  type: 'message',
  id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
  at,
  roomId: ROOM,
  seq,
  from: 'ä'.repeat(32),
  fromId: 'x'.repeat(22),
  message: text,
});

/** The `history` frame a page becomes, as the fanout and the history route send it. */
const historyFrame = (events: RoomLogEvent[]) =>
  JSON.stringify(serverEvent({ type: 'history', roomId: ROOM, events, more: true }));

/** The `entered` frame a list of nicknames becomes. */
const enteredFrame = (members: string[]) =>
  JSON.stringify(
    serverEvent({
      type: 'entered',
      roomId: ROOM,
      seq: Number.MAX_SAFE_INTEGER,
      nickname: 'ä'.repeat(32),
      members,
      memberCount: 1_000_000,
      resumed: false,
    }),
  );

/** Message text up to MAX_MESSAGE_BYTES, including characters JSON escapes to six bytes. */
const text = fc
  .string({
    unit: fc.constantFrom('a', 'ä', '€', '🐭', '"', '\\', '\u0000', '\u001f', '\u2028'),
    maxLength: 1500,
  })
  .filter((t) => utf8Bytes(t) <= MAX_MESSAGE_BYTES);

describe('pagesByBytes', () => {
  it('gives one empty page for no events, so a history answer always says something', () => {
    expect(pagesByBytes([])).toEqual([[]]);
  });

  it('keeps a short history on one page', () => {
    const events = [message(1, 'a'), message(2, 'b')];

    expect(pagesByBytes(events)).toEqual([events]);
  });

  it('starts a new page when the next event would not fit', () => {
    const events = Array.from({ length: 12 }, (_, i) => message(i + 1, '\u0000'.repeat(MAX_MESSAGE_BYTES)));

    const pages = pagesByBytes(events);

    expect(pages.length).toBeGreaterThan(1);
    expect(pages.every((page) => page.length >= 1)).toBe(true);
  });

  it('fits every page in one frame, keeps the order and loses nothing, whatever the messages hold', () => {
    fc.assert(
      fc.property(fc.array(text, { maxLength: 60 }), (texts) => {
        const events = texts.map((t, i) => message(i + 1, t));

        const pages = pagesByBytes(events);

        expect(pages.flat()).toEqual(events);
        for (const page of pages) expect(utf8Bytes(historyFrame(page))).toBeLessThanOrEqual(MAX_EVENT_BYTES);
      }),
      { numRuns: 150 },
    );
  });

  it('fits the largest possible message, escaped at its worst, in one frame', () => {
    const worst = message(1, '\u0000'.repeat(MAX_MESSAGE_BYTES));

    expect(utf8Bytes(historyFrame([worst]))).toBeLessThanOrEqual(MAX_EVENT_BYTES);
  });
});

describe('listedMembers', () => {
  it(`lists at most ${MAX_LISTED_MEMBERS} nicknames`, () => {
    const names = Array.from({ length: MAX_LISTED_MEMBERS + 10 }, (_, i) => `m${String(i).padStart(3, '0')}`);

    expect(listedMembers([...names].reverse())).toEqual(names.slice(0, MAX_LISTED_MEMBERS));
  });

  it('sorts nicknames case-insensitively, then by code point, whatever order the roster read them in', () => {
    expect(listedMembers(['mikki', 'Aku', 'Ä', 'aku', 'Mikki', 'Hessu', '山'])).toEqual([
      'Aku',
      'aku',
      'Hessu',
      'Mikki',
      'mikki',
      'Ä',
      '山',
    ]);
  });

  it('lists the first nicknames in that order, as many as fit one entered frame, whatever they hold', () => {
    const nickname = fc.string({
      unit: fc.constantFrom('a', 'ä', '山', '𝒜', '"'),
      minLength: 1,
      maxLength: 32,
    });
    fc.assert(
      fc.property(fc.array(nickname, { maxLength: 800 }), (names) => {
        const listed = listedMembers(names);
        const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
        const sorted = [...names].sort((a, b) => cmp(a.toLowerCase(), b.toLowerCase()) || cmp(a, b));

        expect(listed).toEqual(sorted.slice(0, listed.length));
        expect(utf8Bytes(enteredFrame(listed))).toBeLessThanOrEqual(MAX_EVENT_BYTES);
        if (listed.length < sorted.length && listed.length < MAX_LISTED_MEMBERS) {
          const next = sorted[listed.length] ?? '';
          expect(utf8Bytes(enteredFrame([...listed, next]))).toBeGreaterThan(MAX_EVENT_BYTES - 512);
        }
      }),
      { numRuns: 150 },
    );
  });
});
