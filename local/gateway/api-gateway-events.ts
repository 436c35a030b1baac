/**
 * Lambda events shaped as API Gateway WebSocket APIs send them: the REQUEST authorizer
 * event, and the proxy events of CONNECT, MESSAGE and DISCONNECT with their requestContext
 * (routeKey, eventType, connectionId, connectedAt, domainName, stage, apiId, requestId,
 * messageId, identity, authorizer context, …). Ids look like API Gateway's: 16 characters
 * of base64, e.g. LZ3kfdhHoAMCJpg=.
 */
import { randomBytes } from 'node:crypto';

/** An API Gateway-style id (connectionId, requestId, messageId): 11 random bytes in base64. */
export function apiGatewayId(): string {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  return randomBytes(11)
    .toString('base64')
    .replace(/[+/]/g, () => letters[Math.floor(Math.random() * letters.length)] as string);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's requestTime: 25/Nov/2026:15:20:00 +0000 */
export function requestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}

export interface ConnectionInfo {
  connectionId: string;
  connectedAt: number;
  sourceIp: string;
  userAgent?: string;
  /** The Host the client connected to (as API Gateway reports it). */
  domainName: string;
  stage: string;
  apiId: string;
  /** principalId + the authorizer's context + integrationLatency, once authorized. */
  authorizer?: Record<string, unknown>;
}

/** The handshake request as API Gateway passes it on: headers and query string. */
export interface Handshake {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
}

export function handshakeOf(rawHeaders: string[], search: URLSearchParams, info: ConnectionInfo): Handshake {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const add = (name: string, value: string) => {
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  };
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    add(rawHeaders[i] as string, rawHeaders[i + 1] as string);
  add(
    'X-Amzn-Trace-Id',
    `Root=1-${Math.floor(info.connectedAt / 1000).toString(16)}-${randomBytes(12).toString('hex')}`,
  );
  add('X-Forwarded-For', info.sourceIp);
  add('X-Forwarded-Port', info.domainName.split(':')[1] ?? '80');
  add('X-Forwarded-Proto', 'http');
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of search) {
    query[name] = value;
    multiQuery[name] = [...(multiQuery[name] ?? []), value];
  }
  return {
    headers,
    multiValueHeaders,
    ...(Object.keys(query).length > 0
      ? { queryStringParameters: query, multiValueQueryStringParameters: multiQuery }
      : {}),
  };
}

function requestContext(info: ConnectionInfo, routeKey: string, eventType: string, requestId: string) {
  const now = Date.now();
  return {
    routeKey,
    eventType,
    extendedRequestId: requestId,
    requestTime: requestTime(now),
    messageDirection: 'IN',
    stage: info.stage,
    connectedAt: info.connectedAt,
    requestTimeEpoch: now,
    identity: { ...(info.userAgent ? { userAgent: info.userAgent } : {}), sourceIp: info.sourceIp },
    requestId,
    domainName: info.domainName,
    connectionId: info.connectionId,
    apiId: info.apiId,
  };
}

export function authorizerEvent(
  info: ConnectionInfo,
  handshake: Handshake,
  methodArn: string,
  requestId: string,
) {
  return {
    type: 'REQUEST',
    methodArn,
    ...handshake,
    stageVariables: {},
    requestContext: requestContext(info, '$connect', 'CONNECT', requestId),
  };
}

export function connectEvent(info: ConnectionInfo, handshake: Handshake, requestId: string) {
  return {
    ...handshake,
    requestContext: {
      ...requestContext(info, '$connect', 'CONNECT', requestId),
      ...(info.authorizer ? { authorizer: info.authorizer } : {}),
    },
    isBase64Encoded: false,
  };
}

export function messageEvent(
  info: ConnectionInfo,
  routeKey: string,
  body: string,
  ids: { requestId: string; messageId: string },
  isBase64Encoded = false,
) {
  const { identity: _identity, ...context } = requestContext(info, routeKey, 'MESSAGE', ids.requestId);
  return {
    requestContext: {
      ...context,
      messageId: ids.messageId,
      identity: { sourceIp: info.sourceIp },
      ...(info.authorizer ? { authorizer: info.authorizer } : {}),
    },
    body,
    isBase64Encoded,
  };
}

export function disconnectEvent(info: ConnectionInfo, statusCode: number, reason: string, requestId: string) {
  const host = info.domainName;
  return {
    headers: { Host: host, 'X-Forwarded-For': info.sourceIp },
    multiValueHeaders: { Host: [host], 'X-Forwarded-For': [info.sourceIp] },
    requestContext: {
      ...requestContext(info, '$disconnect', 'DISCONNECT', requestId),
      disconnectStatusCode: statusCode,
      disconnectReason: reason,
      ...(info.authorizer ? { authorizer: info.authorizer } : {}),
    },
    isBase64Encoded: false,
  };
}
