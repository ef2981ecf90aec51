import type { APIGatewayProxyResult } from 'aws-lambda';
import type { ApiRequest } from '../api-event.js';
import { parseEventInput, parseListQuery, type Parsed } from './input.js';
import { type CalendarEvent, EventNotFoundError, type EventStore, InvalidCursorError, VersionConflictError } from './store.js';
import { errorResponse, jsonResponse } from '../http-response.js';

const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** DynamoDB's limit on a partition key value. */
const MAX_OWNER_BYTES = 2048;

const etag = (version: number): string => `"${version}"`;

/** `If-Match: "3"` → 3. Weak validators and lists are not accepted: a write needs one exact version. */
function parseIfMatch(value: string | undefined): number | undefined | 'invalid' {
  if (value === undefined) return undefined;
  const match = /^\s*"(\d{1,15})"\s*$/.exec(value);
  return match === null ? 'invalid' : Number(match[1]);
}

/** A path of non-empty RFC 3986 segments: nothing a client could read as another host (`//…`). */
const SAFE_PATH = /^(?:\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/;
const COLLECTION = '/calendar/v1/events';

/**
 * Where a created event lives, as the client addresses it: the collection it posted to, with the
 * REST stage or base path the request carried, then the id.
 */
function eventLocation(requestPath: string, id: string): string {
  const collection = requestPath.replace(/\/+$/, '');
  return SAFE_PATH.test(collection) && collection.endsWith(COLLECTION) ? `${collection}/${id}` : `${COLLECTION}/${id}`;
}

/**
 * Whether a body of this media type is JSON, the only kind the calendar reads: `application/json`
 * or a structured `application/<name>+json`, with any parameters, but a charset only if it is
 * UTF-8 (RFC 8259: JSON between systems is UTF-8).
 */
export function isJsonMediaType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const [type = '', ...parameters] = value.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json' && !/^application\/[a-z0-9!#$&^_.+-]+\+json$/.test(type)) return false;
  return parameters.every((parameter) => {
    const [name, rawValue = ''] = parameter.split('=').map((part) => part.trim());
    return name !== 'charset' || /^"?utf-8"?$/.test(rawValue);
  });
}

/** 415 unless a body that is present is declared JSON; a missing body is parseEventInput's 400. */
function unsupportedMediaType(request: ApiRequest): APIGatewayProxyResult | undefined {
  if (request.body === undefined || request.body.trim() === '') return undefined;
  const type = request.headers['content-type'];
  if (isJsonMediaType(type)) return undefined;
  const problem = type === undefined ? 'is missing: send content-type: application/json' : 'must be application/json';
  return errorResponse(415, 'unsupported_media_type', `the body must be JSON: content-type ${problem}`, [{ field: 'content-type', problem }]);
}

function eventResponse(statusCode: number, event: CalendarEvent, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return jsonResponse(statusCode, event, { etag: etag(event.version), ...headers });
}

function rejected(parsed: Exclude<Parsed<unknown>, { ok: true }>): APIGatewayProxyResult {
  return errorResponse(parsed.status, parsed.error, parsed.message, parsed.details);
}

/**
 * Whether this error means the database could not be reached or is overloaded (503), as opposed to
 * a bug (500). The SDK marks network failures with no HTTP status.
 */
export function isUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, $metadata, code } = error as { name?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  if (name === 'ProvisionedThroughputExceededException' || name === 'ThrottlingException' || name === 'RequestLimitExceeded' || name === 'TimeoutError') return true;
  if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE)$/.test(code)) return true;
  // Only SDK errors carry $metadata; anything else is a bug, not an outage.
  if ($metadata === undefined) return false;
  const status = $metadata.httpStatusCode;
  return status === undefined || status >= 500;
}

async function dispatch(request: ApiRequest, owner: string, store: EventStore): Promise<APIGatewayProxyResult> {
  const id = request.pathParameters['id'];
  if (id === undefined) {
    if (request.method === 'GET') {
      const query = parseListQuery(request.query);
      if (!query.ok) return rejected(query);
      return jsonResponse(200, await store.list(owner, query.value));
    }
    if (request.method === 'POST') {
      const unsupported = unsupportedMediaType(request);
      if (unsupported !== undefined) return unsupported;
      const input = parseEventInput(request.body);
      if (!input.ok) return rejected(input);
      const event = await store.create(owner, input.value);
      return eventResponse(201, event, { location: eventLocation(request.path, event.id) });
    }
    return errorResponse(405, 'method_not_allowed', `${request.method} is not supported on /calendar/v1/events`);
  }
  // Ids are UUIDs we issued; anything else cannot exist, and is answered like a missing event.
  if (!EVENT_ID.test(id)) return errorResponse(404, 'not_found', 'no such event');
  switch (request.method) {
    case 'GET':
      return eventResponse(200, await store.get(owner, id));
    case 'PUT': {
      const expected = parseIfMatch(request.headers['if-match']);
      if (expected === undefined) return errorResponse(428, 'precondition_required', 'send If-Match with the ETag of the event you read, so that concurrent changes are not overwritten');
      if (expected === 'invalid') return errorResponse(400, 'invalid_request', 'If-Match must be one strong ETag, e.g. "3"');
      const unsupported = unsupportedMediaType(request);
      if (unsupported !== undefined) return unsupported;
      const input = parseEventInput(request.body);
      if (!input.ok) return rejected(input);
      return eventResponse(200, await store.replace(owner, id, input.value, expected));
    }
    case 'DELETE': {
      const expected = parseIfMatch(request.headers['if-match']);
      if (expected === 'invalid') return errorResponse(400, 'invalid_request', 'If-Match must be one strong ETag, e.g. "3"');
      await store.remove(owner, id, expected);
      return { statusCode: 204, headers: { 'cache-control': 'no-store' }, body: '' };
    }
    default:
      return errorResponse(405, 'method_not_allowed', `${request.method} is not supported on /calendar/v1/events/{id}`);
  }
}

/**
 * The owner of the caller's events: the verified issuer and subject, `["<iss>","<sub>"]` as JSON.
 * A `sub` is only unique within its issuer (two trusted issuers may both have an `alice`), so the
 * pair is the user; JSON is injective (no two different pairs give the same key, whatever the
 * strings hold), unlike a separator. Undefined when the authorizer context lacks either.
 */
export function ownerKey(authorizer: Record<string, unknown>): string | undefined {
  const { iss, sub } = authorizer;
  if (typeof iss !== 'string' || iss === '' || typeof sub !== 'string' || sub === '') return undefined;
  return JSON.stringify([iss, sub]);
}

/**
 * The calendar API. The owner is the issuer and `sub` the authorizer verified, never anything from
 * the request; events of other owners are indistinguishable from events that do not exist (404).
 */
export async function handleCalendarRequest(
  request: ApiRequest,
  store: EventStore,
  /** Told of every 503 and 500 with its cause, which the client never sees: the operator's side. */
  onFailure: (reason: 'store_unavailable' | 'internal_error', error: unknown) => void = () => {},
): Promise<APIGatewayProxyResult> {
  const owner = ownerKey(request.authorizer);
  if (owner === undefined) return errorResponse(401, 'unauthorized', 'no authenticated user');
  // The authorizer already refuses client tokens here; a second check costs nothing.
  if (request.authorizer['tokenUse'] !== 'user') return errorResponse(403, 'forbidden', 'the calendar needs a user access token');
  // DynamoDB refuses a partition key over 2048 bytes; an identity that long cannot own events.
  if (Buffer.byteLength(owner, 'utf8') > MAX_OWNER_BYTES) return errorResponse(403, 'forbidden', 'the issuer and subject of this token are too long for the calendar');
  try {
    return await dispatch(request, owner, store);
  } catch (error) {
    if (error instanceof EventNotFoundError) return errorResponse(404, 'not_found', 'no such event');
    if (error instanceof VersionConflictError) {
      return jsonResponse(412, { error: 'precondition_failed', message: 'the event changed since you read it; read it again and retry' }, { etag: etag(error.currentVersion) });
    }
    if (error instanceof InvalidCursorError) return errorResponse(400, 'invalid_request', 'cursor: is not a cursor returned by this API', [{ field: 'cursor', problem: 'is not a cursor returned by this API' }]);
    if (isUnavailable(error)) {
      onFailure('store_unavailable', error);
      return errorResponse(503, 'service_unavailable', 'the calendar store is unavailable; retry later', undefined);
    }
    onFailure('internal_error', error);
    return errorResponse(500, 'internal_error', 'unexpected error');
  }
}
