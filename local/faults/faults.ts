/**
 * Fault switches for the local stack, all off by default. Tests (and `npm start --faults`)
 * turn them on to see the chat on a bad day; the object on LocalChat.faults is live, so a
 * test can flip a switch mid-run.
 */
export interface FaultSwitches {
  connections: {
    /** Share (0..1) of @connections POSTs answered with `failStatus` instead of being delivered. */
    failRate: number;
    /** 429 (LimitExceededException), 500, 502, 503, … */
    failStatus: number;
    /** Latency added to every @connections POST, in ms (a caller that gives up meanwhile sends nothing). */
    delayMs: number;
    /** Share (0..1) of POSTs that are never answered (the caller's timeout fires). */
    hangRate: number;
    /** POSTs to these connection ids always answer `failStatus` (a recipient that never recovers). */
    failConnectionIds: string[];
  };
  fanout: {
    /** Share (0..1) of fanout invocations whose sandbox is killed `crashAfterMs` into the batch. */
    crashRate: number;
    crashAfterMs: number;
  };
  disconnect: {
    /**
     * Share (0..1) of closed connections whose $disconnect is lost (API Gateway delivers it on
     * a best-effort basis): their records stay behind until a 410 or TTL removes them.
     */
    lostRate: number;
  };
  dynamodb: {
    /**
     * Share (0..1) of the functions' DynamoDB requests answered with `failStatus` in
     * DynamoDB's JSON error shape instead of being forwarded (nothing of them is written).
     * Takes effect only when `dynamodb` was given at start: that puts the fault proxy
     * (local/faults/dynamodb-fault-proxy.ts) between the functions and DynamoDB.
     */
    failRate: number;
    /** 400 (ThrottlingException) or 500 (InternalServerError). */
    failStatus: number;
    /** The 400's error type: ThrottlingException (default) or ProvisionedThroughputExceededException. */
    throttleType: 'ThrottlingException' | 'ProvisionedThroughputExceededException';
    /** Only these operations (e.g. ['TransactWriteItems', 'Query']); empty = every operation. */
    operations: string[];
    /**
     * Share (0..1) of TransactWriteItems requests cancelled as DynamoDB cancels a transaction
     * that collides with another or is throttled: 400 TransactionCanceledException whose
     * CancellationReasons has one entry per item, `cancellationCode` for one of them and
     * `None` for the others. Not forwarded (nothing is written); SDK v3 does not retry it.
     */
    transactionConflictRate: number;
    /** The reason code of the cancelled item: TransactionConflict (default) or ThrottlingError. */
    cancellationCode: 'TransactionConflict' | 'ThrottlingError';
  };
  sqs: {
    /**
     * Share (0..1) of the functions' SQS requests refused with `failStatus`, not forwarded
     * (nothing is queued). Takes effect only when `sqs` was given at start: that puts the
     * fault proxy (local/faults/sqs-fault-proxy.ts) between the functions and SQS.
     */
    failRate: number;
    /**
     * Share (0..1) of requests forwarded (SQS accepts them: the messages are queued) and then
     * answered with `failStatus` instead of SQS's answer: the caller cannot tell, and the SDK
     * retries (a FIFO queue drops the retry as a duplicate within 5 minutes).
     */
    ambiguousRate: number;
    /** Share (0..1) of requests forwarded (SQS accepts them) and never answered: the client's timeout decides. */
    hangRate: number;
    /** 500 (InternalError) or 503 (ServiceUnavailable), in SQS's JSON error shape. */
    failStatus: number;
    /**
     * Share (0..1) of SendMessageBatch entries refused inside a 200 answer (`Failed`, code
     * InternalError, SenderFault false), as SQS does now and then; the others are sent. The
     * SDK does not retry them: the caller must.
     */
    entryFailRate: number;
    /** Only these operations (e.g. ['SendMessageBatch']); empty = every operation. */
    operations: string[];
  };
  /** The random source deciding which requests a rate hits (tests may make it deterministic). */
  random: () => number;
}

export type FaultSettings = {
  connections?: Partial<FaultSwitches['connections']>;
  fanout?: Partial<FaultSwitches['fanout']>;
  disconnect?: Partial<FaultSwitches['disconnect']>;
  /** Given (even `{}`) = the functions reach DynamoDB through the fault proxy. */
  dynamodb?: Partial<FaultSwitches['dynamodb']>;
  /** Given (even `{}`) = the functions reach SQS through the fault proxy. */
  sqs?: Partial<FaultSwitches['sqs']>;
  random?: () => number;
};

export function createFaults(settings: FaultSettings = {}): FaultSwitches {
  return {
    connections: {
      failRate: 0,
      failStatus: 500,
      delayMs: 0,
      hangRate: 0,
      failConnectionIds: [],
      ...settings.connections,
    },
    fanout: { crashRate: 0, crashAfterMs: 0, ...settings.fanout },
    disconnect: { lostRate: 0, ...settings.disconnect },
    dynamodb: {
      failRate: 0,
      failStatus: 400,
      throttleType: 'ThrottlingException',
      operations: [],
      transactionConflictRate: 0,
      cancellationCode: 'TransactionConflict',
      ...settings.dynamodb,
    },
    sqs: {
      failRate: 0,
      ambiguousRate: 0,
      hangRate: 0,
      failStatus: 500,
      entryFailRate: 0,
      operations: [],
      ...settings.sqs,
    },
    random: settings.random ?? Math.random,
  };
}

/**
 * A deterministic random source (for `random`): the next `n` draws fire any fault whose rate is
 * above 0, every later one none whose rate is below 0.99. "Fail the first n requests, then recover."
 */
export function firesFirst(n: number): () => number {
  let left = n;
  return () => (left-- > 0 ? 0 : 0.99);
}

/** Whether a fault fires this time: true for a share `rate` of calls, drawn from `faults.random`. */
export function faultFires(faults: FaultSwitches, rate: number): boolean {
  return rate > 0 && faults.random() < rate;
}

/** The switches that differ from their defaults, as `section.switch=value` (for the CLI banner). */
export function activeFaults(faults: FaultSwitches): string[] {
  const defaults = createFaults() as unknown as Record<string, Record<string, unknown>>;
  const active: string[] = [];
  for (const [section, switches] of Object.entries(faults)) {
    if (typeof switches !== 'object' || switches === null) continue;
    for (const [name, value] of Object.entries(switches as Record<string, unknown>)) {
      if (JSON.stringify(value) !== JSON.stringify(defaults[section]?.[name])) {
        active.push(`${section}.${name}=${JSON.stringify(value)}`);
      }
    }
  }
  return active;
}
