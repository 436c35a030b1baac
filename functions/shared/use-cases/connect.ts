import type { ConnectionRegistry, Role } from '../ports.js';

export interface ConnectInput {
  connectionId: string;
  role: Role;
  principalId: string;
  connectedAt: number;
  displayName?: string;
}

/** `$connect`: registers the connection so later routes and the fanout can find it. */
export async function connect(deps: { registry: ConnectionRegistry }, input: ConnectInput): Promise<void> {
  await deps.registry.putConnection(input);
}
