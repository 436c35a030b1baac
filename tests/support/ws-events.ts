/**
 * Builders for the events API Gateway hands to the WebSocket Lambdas: the proxy event of
 * `$connect`, `$disconnect` and message routes, and the REQUEST authorizer's event.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyWebsocketEventV2, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';

export const API_ID = 'abc123defg';
export const STAGE = 'dev';
export const DOMAIN_NAME = `${API_ID}.execute-api.eu-north-1.amazonaws.com`;

/** The authorizer context API Gateway adds to every event of an authorized connection. */
export interface WsAuthorizer {
  principalId?: string;
  role?: string;
  /** The signed-in user and its display name (jwt mode). */
  sub?: string;
  name?: string;
  integrationLatency?: number;
}

export interface WsEventOptions {
  connectionId?: string;
  connectedAt?: number;
  authorizer?: WsAuthorizer;
  /** The frame, as a string (sent verbatim) or an object (JSON-encoded). */
  body?: string | Record<string, unknown>;
  isBase64Encoded?: boolean;
  queryStringParameters?: Record<string, string>;
}

let counter = 0;

/** A connection id shaped like API Gateway's (base64-ish, ends with '='). */
export function connectionIdFor(label = 'conn'): string {
  counter += 1;
  return `${label.replace(/[^A-Za-z0-9]/g, '')}${counter}${randomUUID().slice(0, 8)}=`;
}

type EventType = 'CONNECT' | 'MESSAGE' | 'DISCONNECT';

export function wsEvent(
  routeKey: string,
  eventType: EventType,
  options: WsEventOptions = {},
): APIGatewayProxyWebsocketEventV2 {
  const now = Date.now();
  const connectionId = options.connectionId ?? connectionIdFor();
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const requestContext = {
    routeKey,
    eventType,
    messageId: eventType === 'MESSAGE' ? randomUUID().slice(0, 12) : '',
    extendedRequestId: randomUUID(),
    requestTime: new Date(now).toUTCString(),
    messageDirection: 'IN' as const,
    stage: STAGE,
    connectedAt: options.connectedAt ?? now - 1000,
    requestTimeEpoch: now,
    requestId: randomUUID(),
    domainName: DOMAIN_NAME,
    connectionId,
    apiId: API_ID,
    authorizer: options.authorizer ?? { principalId: 'user', role: 'user', integrationLatency: 3 },
  };
  return {
    requestContext,
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: options.isBase64Encoded ?? false,
    ...(options.queryStringParameters ? { queryStringParameters: options.queryStringParameters } : {}),
  };
}

/** A frame on a message route (`enterroom`, `sendmessage`, …, or `$default`). */
export function messageEvent(
  routeKey: string,
  body: string | Record<string, unknown> | undefined,
  options: Omit<WsEventOptions, 'body'> = {},
): APIGatewayProxyWebsocketEventV2 {
  return wsEvent(routeKey, 'MESSAGE', { ...options, body });
}

export function connectEvent(
  options: Omit<WsEventOptions, 'body'> & { token?: string } = {},
): APIGatewayProxyWebsocketEventV2 {
  const { token, ...rest } = options;
  return wsEvent('$connect', 'CONNECT', {
    ...rest,
    ...(token === undefined ? {} : { queryStringParameters: { Auth: token } }),
  });
}

export function disconnectEvent(options: Omit<WsEventOptions, 'body'> = {}): APIGatewayProxyWebsocketEventV2 {
  return wsEvent('$disconnect', 'DISCONNECT', options);
}

/** The REQUEST authorizer's event for `$connect`; `token` undefined leaves `Auth` out. */
export function authorizerEvent(token: string | undefined): APIGatewayRequestAuthorizerEvent {
  const query = token === undefined ? null : { Auth: token };
  return {
    type: 'REQUEST',
    methodArn: `arn:aws:execute-api:eu-north-1:123456789012:${API_ID}/${STAGE}/$connect`,
    resource: '$connect',
    path: '',
    httpMethod: 'GET',
    headers: { Host: DOMAIN_NAME, 'Sec-WebSocket-Version': '13' },
    multiValueHeaders: null,
    pathParameters: null,
    queryStringParameters: query,
    multiValueQueryStringParameters: query ? { Auth: [query.Auth] } : null,
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: API_ID,
      authorizer: undefined,
      connectedAt: Date.now(),
      connectionId: connectionIdFor('auth'),
      domainName: DOMAIN_NAME,
      eventType: 'CONNECT',
      extendedRequestId: randomUUID(),
      protocol: 'HTTP/1.1',
      httpMethod: 'GET',
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '127.0.0.1',
        user: null,
        userAgent: 'jest',
        userArn: null,
      },
      messageDirection: 'IN',
      path: '',
      stage: STAGE,
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: '$connect',
      resourcePath: '$connect',
      routeKey: '$connect',
    },
  };
}
