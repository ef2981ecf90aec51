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

/**
 * The one Authorization value of a header map, read across every key that matches case-
 * insensitively. Two keys (`Authorization` and `authorization`, as serverless offline builds from two
 * raw headers) or two values under one key make it ambiguous which one a backend would read, so
 * they are refused: a backend reading the other spelling would see a token nobody verified.
 */
function authorizationOf(headers: Record<string, unknown> | null | undefined): string | undefined {
  if (headers === null || headers === undefined) return undefined;
  let found: unknown;
  let count = 0;
  for (const key of Object.keys(headers)) {
    if (key.length !== 13 || key.toLowerCase() !== 'authorization') continue;
    count += 1;
    found = headers[key];
  }
  if (count > 1) throw new AuthError('scheme_invalid', `${count} Authorization headers (names differing only in case)`);
  return found as string | undefined;
}

/** The values of a multi-value header map under every case-insensitive spelling of Authorization. */
function authorizationValues(headers: Record<string, unknown> | null | undefined): unknown[] | undefined {
  if (headers === null || headers === undefined) return undefined;
  let values: unknown[] | undefined;
  for (const key of Object.keys(headers)) {
    if (key.length !== 13 || key.toLowerCase() !== 'authorization') continue;
    const value = headers[key];
    (values ??= []).push(...(Array.isArray(value) ? value : [value]));
  }
  return values;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Recognises the event shape. Anything else is refused rather than guessed at. */
export function normalizeEvent(event: unknown): AuthorizationRequest {
  if (!isObject(event)) throw new AuthError('event_invalid', 'the event is not an object');
  if (event['version'] === '2.0' && typeof event['routeArn'] === 'string') {
    const v2 = event as unknown as APIGatewayRequestAuthorizerEventV2;
    return { api: 'http', authorization: authorizationOf(v2.headers), arn: v2.routeArn };
  }
  if (typeof event['methodArn'] !== 'string') throw new AuthError('event_invalid', 'the event has neither methodArn nor routeArn');
  if (event['type'] === 'TOKEN') {
    const token = event as unknown as APIGatewayTokenAuthorizerEvent;
    return { api: 'rest', authorization: token.authorizationToken, arn: token.methodArn };
  }
  if (event['type'] === 'REQUEST') {
    const request = event as unknown as APIGatewayRequestAuthorizerEvent;
    // Two Authorization headers make it ambiguous which one the backend would honour: count them in
    // both maps, and the single-value map must hold the very value the multi-value map holds.
    const authorization = authorizationOf(request.headers);
    const all = authorizationValues(request.multiValueHeaders);
    if (all !== undefined && all.length > 1) throw new AuthError('scheme_invalid', 'more than one Authorization header');
    if (all !== undefined && all[0] !== authorization) throw new AuthError('scheme_invalid', 'the event\'s headers and multiValueHeaders disagree on Authorization');
    return { api: 'rest', authorization, arn: request.methodArn };
  }
  throw new AuthError('event_invalid', `unknown authorizer event type "${String(event['type'])}"`);
}
