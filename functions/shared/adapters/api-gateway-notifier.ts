import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { ConnectionNotifier, DeliveryResult } from '../ports.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../runtime/retry.js';
import { isGone, isRetryableDelivery, postWithRetry } from './connections-errors.js';

export { isGone, isRetryableDelivery };

/**
 * A management API client with keep-alive sockets sized to the fanout's concurrency. SDK
 * retries are off: `ApiGatewayNotifier` retries itself, so 410 is never retried and the
 * policy is the same in tests, locally and in AWS.
 */
export function managementApiClient(
  endpoint: string,
  maxSockets: number,
  timeouts: { connectTimeoutMs?: number; requestTimeoutMs?: number } = {},
): ApiGatewayManagementApiClient {
  const agentOptions = { keepAlive: true, maxSockets };
  return new ApiGatewayManagementApiClient({
    endpoint,
    maxAttempts: 1,
    requestHandler: {
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
      connectionTimeout: timeouts.connectTimeoutMs ?? 2000,
      requestTimeout: timeouts.requestTimeoutMs ?? 5000,
      // Without this the handler only logs a warning and the post hangs until the Lambda
      // times out, failing the whole batch; with it a hung post is an error we retry.
      throwOnRequestTimeout: true,
    },
  });
}

export class ApiGatewayNotifier implements ConnectionNotifier {
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly client: ApiGatewayManagementApiClient,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  async send(
    connectionId: string,
    payload: string,
    options: { deadline?: number } = {},
  ): Promise<DeliveryResult> {
    const command = new PostToConnectionCommand({
      ConnectionId: connectionId,
      Data: this.encoder.encode(payload),
    });
    return postWithRetry(() => this.client.send(command), this.retry, options.deadline);
  }
}
