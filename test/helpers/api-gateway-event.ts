/**
 * Builds API Gateway HTTP API events (payload format 2.0) exactly as API Gateway delivers them to a Lambda proxy
 * integration, key for key (API Gateway developer guide, "Working with AWS Lambda proxy integrations for HTTP APIs").
 *
 * Written independently of local/api-event.ts on purpose: the API tests run the same cases through this factory
 * and through the local server's conversion, so a difference between the two shows up as a failing case.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** Options of {@link apiGatewayEvent}. */
export interface ApiGatewayEventOptions {
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** @default 'GET /pumps/{pump}/readings' style route key derived from the path */
  readonly routeKey?: string;
}

/**
 * The event of `method pathAndQuery` on the `$default` stage of an HTTP API with IAM authorisation.
 *
 * @example
 * apiGatewayEvent('GET', '/pumps/COHUTTA/readings?resolution=1h&from=2014-03-10');
 */
export function apiGatewayEvent(method: string, pathAndQuery: string, options: ApiGatewayEventOptions = {}): APIGatewayProxyEventV2 {
  const [rawPath, rawQueryString = ''] = pathAndQuery.split(/\?(.*)/s, 2) as [string, string?];
  const readings = /^\/pumps\/([^/]+)\/readings$/.exec(rawPath);
  const routeKey = options.routeKey ?? `${method} ${readings ? '/pumps/{pump}/readings' : rawPath}`;
  const query: Record<string, string> = {};
  // "Duplicate query strings are combined with commas and included in the queryStringParameters field."
  for (const [k, v] of new URLSearchParams(rawQueryString)) query[k] = k in query ? `${query[k]},${v}` : v;
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    headers: { accept: '*/*', host: 'abc123.execute-api.us-east-1.amazonaws.com', 'user-agent': 'jest', 'x-forwarded-proto': 'https', ...options.headers },
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      authorizer: { iam: { accessKey: 'AKIAEXAMPLE', accountId: '123456789012', callerId: 'AIDAEXAMPLE', cognitoIdentity: null, principalOrgId: null, userArn: 'arn:aws:iam::123456789012:user/analyst', userId: 'AIDAEXAMPLE' } },
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '192.0.2.10', userAgent: 'jest' },
      requestId: `req-${Math.random().toString(36).slice(2)}`,
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(readings ? { pathParameters: { pump: decodeURIComponent(readings[1]!) } } : {}),
    ...(options.body !== undefined ? { body: options.body } : {}),
    isBase64Encoded: false,
  } as APIGatewayProxyEventV2;
}
