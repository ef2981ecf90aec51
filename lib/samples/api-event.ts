import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';

/** A request to a sample API, from a REST API (payload 1.0) or HTTP API (payload 2.0) proxy event. */
export interface ApiRequest {
  method: string;
  /**
   * The path the client requested, as it addresses it: with the REST API's stage (`/dev/…`), a
   * custom domain's base path, or an HTTP API stage's prefix, where the URL has one.
   */
  path: string;
  pathParameters: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  body: string | undefined;
  /** Authorizer context values: the only trusted source of the caller's identity. */
  authorizer: Record<string, unknown>;
}

function lowerCaseKeys(headers: Record<string, string | undefined> | null | undefined): Record<string, string | undefined> {
  const result: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers ?? {})) result[name.toLowerCase()] = value;
  return result;
}

function decodeBody(body: string | null | undefined, isBase64Encoded: boolean | undefined): string | undefined {
  if (body === null || body === undefined) return undefined;
  return isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
}

/**
 * The REST API (payload 1.0) request path as the client sent it. On API Gateway that is
 * `requestContext.path`: `/<stage>/…` on the execute-api host, `/<base path>/…` or the bare path
 * on a custom domain, while `path` drops the stage. serverless offline serves the REST API under
 * `/<stage>` too, but passes the bare path in both and names no real domain: there the stage is
 * put back.
 */
function restRequestPath(event: APIGatewayProxyEvent): string {
  const { path, requestContext } = event;
  const contextPath: unknown = requestContext.path;
  const bare = path.replace(/\/+$/, '');
  if (typeof contextPath === 'string' && contextPath !== path && contextPath.replace(/\/+$/, '').endsWith(bare)) return contextPath;
  const emulated = !String(requestContext.domainName ?? '').includes('.');
  return emulated && requestContext.stage ? `/${requestContext.stage}${path}` : path;
}

export function parseApiEvent(event: APIGatewayProxyEvent | APIGatewayProxyEventV2): ApiRequest {
  if ('version' in event && event.version === '2.0') {
    const v2 = event as APIGatewayProxyEventV2 & { requestContext: { authorizer?: { lambda?: Record<string, unknown> } } };
    return {
      method: v2.requestContext.http.method.toUpperCase(),
      // The stage's prefix is in rawPath unless the stage is `$default`, which has none.
      path: v2.rawPath,
      pathParameters: v2.pathParameters ?? {},
      query: v2.queryStringParameters ?? {},
      headers: lowerCaseKeys(v2.headers),
      body: decodeBody(v2.body, v2.isBase64Encoded),
      // HTTP APIs nest a Lambda authorizer's context under `lambda`.
      authorizer: v2.requestContext.authorizer?.lambda ?? {},
    };
  }
  const v1 = event as APIGatewayProxyEvent;
  return {
    method: v1.httpMethod.toUpperCase(),
    path: restRequestPath(v1),
    pathParameters: v1.pathParameters ?? {},
    query: v1.queryStringParameters ?? {},
    headers: lowerCaseKeys(v1.headers),
    body: decodeBody(v1.body, v1.isBase64Encoded),
    authorizer: (v1.requestContext.authorizer as Record<string, unknown> | null | undefined) ?? {},
  };
}
