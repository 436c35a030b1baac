export interface E2eRow {
  clients: number;
  rooms: number;
  messages: number;
  expectedDeliveries: number;
  delivered: number;
  lost: number;
  duplicated: number;
  errors: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  deliveriesPerSecond: number;
  /** The same stack unloaded: one client alone in a room, each message sent once the previous came back. */
  singleSender?: { messages: number; p50Ms: number; p99Ms: number; maxMs: number };
}
