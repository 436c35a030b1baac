/**
 * Sizing what the server sends by bytes, not by count: every `history` event and every
 * `entered` fits one WebSocket frame (MAX_EVENT_BYTES, under API Gateway's 32 KB), whatever
 * the messages and nicknames hold.
 */
import type { RoomLogEvent } from './protocol.js';
import { MAX_EVENT_BYTES, MAX_LISTED_MEMBERS, utf8Bytes } from './rules.js';

/** Room for an event's own fields (type, id, at, roomId, more, members' count …). */
const ENVELOPE_BYTES = 512;

/**
 * Splits events (oldest first) into consecutive pages whose JSON fits `maxBytes` with the
 * envelope. An empty list gives one empty page, so a history answer always says something.
 */
export function pagesByBytes(events: RoomLogEvent[], maxBytes = MAX_EVENT_BYTES): RoomLogEvent[][] {
  const pages: RoomLogEvent[][] = [];
  let page: RoomLogEvent[] = [];
  let size = ENVELOPE_BYTES;
  for (const event of events) {
    const bytes = utf8Bytes(JSON.stringify(event)) + 1;
    if (page.length > 0 && size + bytes > maxBytes) {
      pages.push(page);
      page = [];
      size = ENVELOPE_BYTES;
    }
    page.push(event);
    size += bytes;
  }
  pages.push(page);
  return pages;
}

/** Case-insensitive, then by code point: the same order in every runtime, whatever its locale. */
const byNickname = (a: string, b: string) => {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  return x < y ? -1 : x > y ? 1 : a < b ? -1 : a > b ? 1 : 0;
};

/**
 * The nicknames `entered` lists, sorted (case-insensitive): as many as fit one frame (at most
 * MAX_LISTED_MEMBERS) of those given.
 */
export function listedMembers(nicknames: Iterable<string>, maxBytes = MAX_EVENT_BYTES): string[] {
  const listed: string[] = [];
  let size = ENVELOPE_BYTES;
  for (const nickname of [...nicknames].sort(byNickname)) {
    const bytes = utf8Bytes(JSON.stringify(nickname)) + 1;
    if (listed.length >= MAX_LISTED_MEMBERS || size + bytes > maxBytes) break;
    listed.push(nickname);
    size += bytes;
  }
  return listed;
}
