/**
 * Rooms of real clients for the hardening tests: everyone entered and on the delivery
 * roster, and what each member saw of the room, deduplicated by `id` as a client must.
 */
import { ChatClient, type ChatEvent } from './chat-client';
import type { TestStack } from './test-stack';

export interface Member {
  client: ChatClient;
  nickname: string;
  connectionId: string;
}

/** Connects `count` clients one by one and enters them; resolves once all are on the roster. */
export async function populateRoom(
  stack: TestStack,
  roomId: string,
  count: number,
  timeoutMs = 20_000,
): Promise<Member[]> {
  const members: Member[] = [];
  for (let n = 0; n < count; n++) {
    const before = new Set(stack.chat.connectionIds());
    const nickname = `${roomId}-${n}`;
    const client = await ChatClient.connect(stack.chat.wsUrl, stack.chat.chatToken, nickname);
    const connectionId = stack.chat.connectionIds().find((id) => !before.has(id)) ?? '';
    members.push({ client, nickname, connectionId });
    client.send({ action: 'enterroom', roomId, nickname });
  }
  // Each member's `entered` comes once the fanout has put it on the room's roster.
  await Promise.all(
    members.map(({ client, nickname }) =>
      client.waitFor(
        (e) => e.type === 'entered' && e.roomId === roomId,
        `${nickname} entered ${roomId}`,
        timeoutMs,
      ),
    ),
  );
  return members;
}

/** The room's messages as a client shows them: first copy of each id, in arrival order. */
export function dedupedMessages(client: ChatClient, roomId: string): ChatEvent[] {
  const seen = new Set<unknown>();
  return client.events.filter((e) => {
    if (e.type !== 'message' || e.roomId !== roomId || seen.has(e.id)) return false;
    seen.add(e.id);
    return true;
  });
}

/** Waits until the client holds `count` distinct messages of the room. */
export function waitForMessages(client: ChatClient, roomId: string, count: number, timeoutMs = 30_000) {
  return client.waitFor(
    () => dedupedMessages(client, roomId).length >= count,
    `${count} distinct messages of ${roomId}`,
    timeoutMs,
  );
}
