/**
 * Turns a loopback HTTP request into the API Gateway HTTP API event (payload format 2.0) that the query API's
 * handler receives in AWS, and writes the handler's result back as the HTTP response.
 *
 * Shapes follow the API Gateway developer guide ("Working with AWS Lambda proxy integrations for HTTP APIs",
 * payload format version 2.0): header names lower-cased, "duplicate headers are combined with commas", "duplicate
 * query strings are combined with commas and included in the queryStringParameters field", `rawQueryString` as
 * sent, cookies in `cookies`, and a `requestContext.http` with method, path, protocol, sourceIp and userAgent.
 */
import { randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** What the conversion needs from a request. */
export interface HttpRequestLike {
  readonly method: string;
  /** Path and query, as on the request line: `/pumps/COHUTTA/readings?from=2014-03-10`. */
  readonly url: string;
  /** Headers as node gives them (lower-case names; arrays for repeated ones). */
  readonly headers: http.IncomingHttpHeaders;
  readonly body?: string;
  readonly sourceIp?: string;
}

/**
 * The payload 2.0 event of a request, for the `$default` stage and the route key `ANY /{proxy+}`.
 *
 * @example
 * const event = httpApiEvent({ method: 'GET', url: '/pumps', headers: req.headers, sourceIp: '127.0.0.1' });
 */
export function httpApiEvent(req: HttpRequestLike, now: Date = new Date()): APIGatewayProxyEventV2 {
  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const rawQueryString = q < 0 ? '' : req.url.slice(q + 1);
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (name === 'cookie') {
      cookies = (Array.isArray(value) ? value.join('; ') : value).split(/;\s*/).filter((c) => c !== '');
      continue;
    }
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rawQueryString)) query[k] = k in query ? `${query[k]},${v}` : v;
  const body = req.body !== undefined && req.body !== '' ? req.body : undefined;
  return {
    version: '2.0',
    routeKey: 'ANY /{proxy+}',
    rawPath,
    rawQueryString,
    ...(cookies ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0]!,
      http: { method: req.method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: req.sourceIp ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: 'ANY /{proxy+}',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    pathParameters: { proxy: rawPath.replace(/^\//, '') },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
  };
}

/**
 * Writes a handler result as the HTTP response (status, headers, body; a 200 without a status, like API Gateway).
 *
 * @example
 * writeApiResult(res, await api(event));
 */
export function writeApiResult(res: http.ServerResponse, result: APIGatewayProxyStructuredResultV2, head = false): void {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
  const body = result.body === undefined ? '' : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body;
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(head ? undefined : body);
}
