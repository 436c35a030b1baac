import type { ConnectionStore, Role } from '../ports.js';

export interface ConnectInput {
  connectionId: string;
  role: Role;
  principalId: string;
  connectedAt: number;
  /** jwt mode: the verified token's `sub` and display name (from the authorizer's context). */
  sub?: string;
  displayName?: string;
}

/** `$connect`: registers the connection so later routes and the fanout can find it. */
export async function connect(deps: { store: ConnectionStore }, input: ConnectInput): Promise<void> {
  await deps.store.putConnection(input);
}
