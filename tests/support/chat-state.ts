/**
 * Arranging chat state through the ConnectionStore port: registered connections and room
 * memberships, for use-case and handler tests.
 */
import type { Connection, ConnectionStore, Membership, Role } from '../../functions/shared/ports';
import { connectionIdFor } from './ws-events';

export async function registerConnection(
  store: ConnectionStore,
  label: string,
  role: Role = 'user',
): Promise<Connection> {
  const connection = {
    connectionId: connectionIdFor(label),
    role,
    principalId: role,
    connectedAt: Date.now(),
  };
  await store.putConnection(connection);
  return connection;
}

/**
 * Registers a connection named `nickname` and makes it a receiving member of each of
 * `roomIds` (entered, and activated as the fanout does when it handles the `joined` event).
 */
export async function memberOf(
  store: ConnectionStore,
  nickname: string,
  ...roomIds: string[]
): Promise<{ connectionId: string; memberships: Membership[] }> {
  const { connectionId } = await registerConnection(store, nickname);
  const memberships: Membership[] = [];
  for (const roomId of roomIds) {
    const membership = { connectionId, roomId, nickname };
    await store.enterRoom(membership);
    await store.activateMember(roomId, connectionId);
    memberships.push(membership);
  }
  return { connectionId, memberships };
}

export async function nicknamesIn(store: ConnectionStore, roomId: string): Promise<string[]> {
  const names: string[] = [];
  for await (const page of store.roomMembers(roomId)) names.push(...page.map((m) => m.nickname));
  return names.sort();
}
