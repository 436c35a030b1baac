import type { ConnectionStore, Role } from '../ports.js';

export interface ConnectInput {
  connectionId: string;
  role: Role;
  principalId: string;
  connectedAt: number;
  displayName?: string;
}

/** `$connect`: registers the connection so later routes and the fanout can find it. */
export async function connect(deps: { store: ConnectionStore }, input: ConnectInput): Promise<void> {
  await deps.store.putConnection(input);
}
