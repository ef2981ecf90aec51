import type { APIGatewayProxyResult } from 'aws-lambda';

// Placeholder until the geocoding API lands: echoes who the authorizer let through.
export async function handler(event: { requestContext?: { authorizer?: unknown } }): Promise<APIGatewayProxyResult> {
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api: 'geocoding', authorizer: event.requestContext?.authorizer ?? null }) };
}
