/**
 * Ports: what the use cases need from the outside world. Each has one AWS adapter in
 * ./adapters; the local gateway and the tests swap endpoints, not implementations.
 */
import type { RoomEvent } from './domain/room-events.js';

export type Role = 'user' | 'admin';

export interface Connection {
  connectionId: string;
  role: Role;
  principalId: string;
  connectedAt: number;
}

export interface Membership {
  connectionId: string;
  roomId: string;
  nickname: string;
}

export interface ConnectionStore {
  /** Registers a new connection (idempotent). */
  putConnection(connection: Connection): Promise<void>;
  getConnection(connectionId: string): Promise<Connection | undefined>;
  /**
   * Atomically adds the membership and reserves its nickname in the room; returns the
   * nicknames now in the room. Throws AlreadyInRoomError, NicknameTakenError, or
   * ConnectionNotFoundError when the connection is not registered.
   */
  enterRoom(membership: Membership): Promise<string[]>;
  /** Atomically removes the membership and frees its nickname. Throws NotInRoomError. */
  exitRoom(connectionId: string, roomId: string): Promise<Membership>;
  getMembership(connectionId: string, roomId: string): Promise<Membership | undefined>;
  listMemberships(connectionId: string): Promise<Membership[]>;
  /** Pages of a room's live members (a Query on the room's partition, never a Scan). */
  roomMembers(roomId: string): AsyncIterable<Membership[]>;
  /** Pages of every live connection id (a Query per connection-index shard). */
  allConnections(): AsyncIterable<string[]>;
  /** Removes a connection and all its memberships; returns the memberships it had. */
  removeConnection(connectionId: string): Promise<Membership[]>;
  /**
   * Takes one send token from the connection's fixed window; false when the window's
   * allowance is used up.
   */
  takeSendToken(connectionId: string, limit: number, windowSeconds: number, now: Date): Promise<boolean>;
}

export interface RoomEventPublisher {
  /** Publishes events in order; events of the same room keep their relative order. */
  publish(...events: RoomEvent[]): Promise<void>;
}

export type DeliveryResult = 'delivered' | 'gone';

export interface ConnectionNotifier {
  /**
   * Sends one text frame to a connection. Resolves 'gone' when the connection no longer
   * exists (410); throws when delivery failed after retries.
   */
  send(connectionId: string, payload: string): Promise<DeliveryResult>;
}
