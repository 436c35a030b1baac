/**
 * Ports: what the use cases need from the outside world. Each has one AWS adapter in
 * ./adapters; the local gateway and the tests swap endpoints, not implementations.
 */
import type { RoomEvent } from './domain/room-events.js';

export type Role = 'user' | 'admin';

export interface Connection {
  connectionId: string;
  role: Role;
  /** The signed-in user (`sub`) in jwt mode; the role in token mode. */
  principalId: string;
  connectedAt: number;
  /** A display name from the sign-in (default nickname), when there is one. */
  displayName?: string;
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
   * nicknames now in the room (the newcomer included). Throws AlreadyInRoomError,
   * NicknameTakenError, or ConnectionNotFoundError when the connection is not registered.
   *
   * The room's delivery roster follows the room's event order, not the clock: a new member is
   * `joining` (not yet receiving) until the fanout handles its `joined` event
   * (`activateMember`), and one who exits stays on the roster as `leaving` until the fanout
   * has delivered its `left` event (`forgetMember`). So a member receives exactly the events
   * between its `entered` and its `exited`, however the Lambdas race.
   */
  enterRoom(membership: Membership): Promise<string[]>;
  /** Undoes an enterRoom whose `joined` event was never published: nothing of it remains. */
  undoEnter(membership: Membership): Promise<void>;
  /**
   * Atomically removes the membership and frees its nickname; the member stays on the
   * roster as `leaving` until `forgetMember`. Throws NotInRoomError. A caller that has just
   * read the membership passes it in (`known`), which saves reading it again.
   */
  exitRoom(connectionId: string, roomId: string, known?: Membership): Promise<Membership>;
  /** A `joining` member starts receiving the room's events (no-op in any other state). */
  activateMember(roomId: string, connectionId: string): Promise<void>;
  /** A `leaving` member stops receiving the room's events (no-op in any other state). */
  forgetMember(roomId: string, connectionId: string): Promise<void>;
  getMembership(connectionId: string, roomId: string): Promise<Membership | undefined>;
  listMemberships(connectionId: string): Promise<Membership[]>;
  /** Pages of the room's delivery roster: `active` and `leaving` members (a Query, never a Scan). */
  roomMembers(roomId: string): AsyncIterable<Membership[]>;
  /** Pages of every live connection id (a Query per connection-index shard). */
  allConnections(): AsyncIterable<string[]>;
  /**
   * Removes a connection and all its memberships; returns the memberships it had. A caller
   * that has just listed them passes them in (`known`), which saves listing them again.
   */
  removeConnection(connectionId: string, known?: Membership[]): Promise<Membership[]>;
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
