import type {
  APIGatewayRequestAuthorizerEvent,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewayTokenAuthorizerEvent,
} from 'aws-lambda';
import { AuthError } from '../errors.js';

export type AuthorizerEvent = APIGatewayTokenAuthorizerEvent | APIGatewayRequestAuthorizerEvent | APIGatewayRequestAuthorizerEventV2;

/** The three event shapes reduced to what the decision needs. */
export interface AuthorizationRequest {
  /** REST APIs answer 401 to a thrown `Unauthorized`; HTTP APIs answer 500, so they get a deny. */
  api: 'rest' | 'http';
  /** The Authorization header value, untouched. */
  authorization: string | undefined;
  /** methodArn (REST) or routeArn (HTTP API). */
  arn: string;
}

function headerValue(headers: Record<string, string | undefined> | null | undefined, name: string): string | undefined {
  if (headers === null || headers === undefined) return undefined;
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) return headers[key];
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Recognises the event shape. Anything else is refused rather than guessed at. */
export function normalizeEvent(event: unknown): AuthorizationRequest {
  if (!isObject(event)) throw new AuthError('event_invalid', 'the event is not an object');
  if (event['version'] === '2.0' && typeof event['routeArn'] === 'string') {
    const v2 = event as unknown as APIGatewayRequestAuthorizerEventV2;
    return { api: 'http', authorization: headerValue(v2.headers, 'authorization'), arn: v2.routeArn };
  }
  if (typeof event['methodArn'] !== 'string') throw new AuthError('event_invalid', 'the event has neither methodArn nor routeArn');
  if (event['type'] === 'TOKEN') {
    const token = event as unknown as APIGatewayTokenAuthorizerEvent;
    return { api: 'rest', authorization: token.authorizationToken, arn: token.methodArn };
  }
  if (event['type'] === 'REQUEST') {
    const request = event as unknown as APIGatewayRequestAuthorizerEvent;
    // Two Authorization headers make it ambiguous which one the backend would honour.
    const all = headerValue(request.multiValueHeaders as Record<string, string | undefined> | null, 'authorization') as unknown;
    if (Array.isArray(all) && all.length > 1) throw new AuthError('scheme_invalid', 'more than one Authorization header');
    return { api: 'rest', authorization: headerValue(request.headers, 'authorization'), arn: request.methodArn };
  }
  throw new AuthError('event_invalid', `unknown authorizer event type "${String(event['type'])}"`);
}
