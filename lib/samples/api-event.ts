import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';

/** A request to a sample API, from a REST API (payload 1.0) or HTTP API (payload 2.0) proxy event. */
export interface ApiRequest {
  method: string;
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

export function parseApiEvent(event: APIGatewayProxyEvent | APIGatewayProxyEventV2): ApiRequest {
  if ('version' in event && event.version === '2.0') {
    const v2 = event as APIGatewayProxyEventV2 & { requestContext: { authorizer?: { lambda?: Record<string, unknown> } } };
    return {
      method: v2.requestContext.http.method.toUpperCase(),
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
    pathParameters: v1.pathParameters ?? {},
    query: v1.queryStringParameters ?? {},
    headers: lowerCaseKeys(v1.headers),
    body: decodeBody(v1.body, v1.isBase64Encoded),
    authorizer: (v1.requestContext.authorizer as Record<string, unknown> | null | undefined) ?? {},
  };
}
