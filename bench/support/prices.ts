/**
 * AWS's public on-demand prices the cost scenario multiplies by: US East (N. Virginia), the
 * first pricing tier of each, no free tier. Check them against the pricing pages before you
 * quote a figure: prices change (DynamoDB's on-demand prices halved on 2024-11-01).
 */
export const PRICES = {
  /** When these were taken from the pages below. */
  asOf: '2026-12-02',
  region: 'us-east-1',
  sources: [
    'https://aws.amazon.com/api-gateway/pricing/',
    'https://aws.amazon.com/lambda/pricing/',
    'https://aws.amazon.com/sqs/pricing/',
    'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    'https://aws.amazon.com/appsync/pricing/',
  ],
  apiGateway: {
    /** WebSocket messages, sent and received, metered in 32 KB increments. */
    perMillionMessages: 1.0,
    perMillionConnectionMinutes: 0.25,
  },
  lambda: {
    perMillionRequests: 0.2,
    /** arm64, as the template deploys. */
    perGbSecondArm: 0.0000133334,
    /** x86_64 (the AWS sample's default). */
    perGbSecondX86: 0.0000166667,
  },
  sqs: {
    /** FIFO queues; each 64 KB chunk of a request's payload is billed as one request. */
    perMillionFifoRequests: 0.5,
  },
  dynamodb: {
    perMillionWriteUnits: 0.625,
    perMillionReadUnits: 0.125,
  },
  appSyncEvents: {
    /** Publishes and messages delivered to subscribers are Event API operations (each under 5 KB here). */
    perMillionOperations: 1.0,
    perMillionConnectionMinutes: 0.08,
  },
} as const;

export type Service = 'API Gateway' | 'Lambda' | 'SQS' | 'DynamoDB' | 'AppSync Events';
