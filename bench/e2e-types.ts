export interface E2eRow {
  clients: number;
  rooms: number;
  messages: number;
  expectedDeliveries: number;
  delivered: number;
  /** Deliveries of accepted messages that never arrived. */
  lost: number;
  duplicated: number;
  errors: number;
  /** Messages answered with an error instead of being accepted (never delivered), by code. */
  refused?: Record<string, number>;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  deliveriesPerSecond: number;
  /** The same stack unloaded: one client alone in a room, each message sent once the previous came back. */
  singleSender?: { messages: number; p50Ms: number; p99Ms: number; maxMs: number };
  /** The latency at each percentile 0, 1 … 100 (the distribution's chart). */
  percentiles?: number[];
  /** Messages per second offered (all clients together) and actually accepted into the room logs. */
  offeredMessagesPerSecond?: number;
  /** DynamoDB Local's own ceiling on this machine, measured right after on the same instance. */
  dynamoDbCeiling?: { requestsPerSecond: number; concurrency: number; seconds: number };
}
