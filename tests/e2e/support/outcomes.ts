/**
 * Waits for what an action came to: the event that says it worked, or the `error` that
 * answers it, whichever comes first among the events that arrive after it was sent.
 */
import type { ChatClient, ChatEvent } from './chat-client';

export type Outcome = { ok: true; event: ChatEvent } | { ok: false; code: string; event: ChatEvent };

export async function act(
  client: ChatClient,
  frame: Record<string, unknown>,
  success: (event: ChatEvent) => boolean,
  timeoutMs = 20_000,
): Promise<Outcome> {
  const from = client.events.length;
  client.send(frame);
  const event = await client.waitFor(
    (e) =>
      client.events.indexOf(e) >= from && (success(e) || (e.type === 'error' && e.action === frame.action)),
    `the outcome of ${String(frame.action)}`,
    timeoutMs,
  );
  return event.type === 'error' ? { ok: false, code: String(event.code), event } : { ok: true, event };
}

export const enter = (client: ChatClient, roomId: string, nickname: string, timeoutMs?: number) =>
  act(
    client,
    { action: 'enterroom', roomId, nickname },
    (e) => e.type === 'entered' && e.roomId === roomId,
    timeoutMs,
  );

export const exit = (client: ChatClient, roomId: string, timeoutMs?: number) =>
  act(client, { action: 'exitroom', roomId }, (e) => e.type === 'exited' && e.roomId === roomId, timeoutMs);

export const say = (client: ChatClient, roomId: string, message: string, timeoutMs?: number) =>
  act(
    client,
    { action: 'sendmessage', roomId, message },
    (e) => e.type === 'message' && e.roomId === roomId && e.message === message,
    timeoutMs,
  );
