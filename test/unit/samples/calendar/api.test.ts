import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ConditionalCheckFailedException, ProvisionedThroughputExceededException, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import type {
  APIGatewayEventRequestContextV2WithAuthorizer, APIGatewayProxyEvent, APIGatewayProxyEventV2WithRequestContext, APIGatewayProxyResult,
} from 'aws-lambda';
import { type ApiRequest, parseApiEvent } from '../../../../lib/samples/api-event.js';
import { handleCalendarRequest, isUnavailable, ownerKey } from '../../../../lib/samples/calendar/api.js';
import { type CalendarEvent, DynamoEventStore, type EventPage, type EventStore, EventNotFoundError } from '../../../../lib/samples/calendar/store.js';
import type { ErrorBody } from '../../../../lib/samples/http-response.js';
import { type RunningDynamoDb, startDynamoDb } from '../../../../local/dynamodb.js';

const TABLE = 'calendar-api-test-events';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const EVENT_KEYS = ['createdAt', 'end', 'id', 'start', 'title', 'updatedAt', 'version'];

let dynamo: RunningDynamoDb;
let store: DynamoEventStore;
let handler: typeof import('../../../../handlers/calendar.js')['handler'];
const savedEnv = { table: process.env['CALENDAR_TABLE'], endpoint: process.env['DYNAMODB_ENDPOINT'] };

before(async () => {
  dynamo = await startDynamoDb({ port: 0, tableName: TABLE });
  store = new DynamoEventStore({ tableName: TABLE, endpoint: dynamo.endpoint, region: 'us-east-1' });
  // The Lambda entry point reads its table and endpoint when it is loaded.
  process.env['CALENDAR_TABLE'] = TABLE;
  process.env['DYNAMODB_ENDPOINT'] = dynamo.endpoint;
  ({ handler } = await import('../../../../handlers/calendar.js'));
});

after(async () => {
  await dynamo.stop();
  for (const [name, value] of [['CALENDAR_TABLE', savedEnv.table], ['DYNAMODB_ENDPOINT', savedEnv.endpoint]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** The issuer of every test user that names no other; a second one for the same `sub` elsewhere. */
const ISSUER = 'https://issuer-a.example/';
const OTHER_ISSUER = 'https://issuer-b.example/';

/** A user: a `sub` at ISSUER, or a `sub` at a named issuer. */
type Who = string | { iss: string; sub: string };
const identity = (who: Who): { iss: string; sub: string } => (typeof who === 'string' ? { iss: ISSUER, sub: who } : who);

/** A fresh user per test: every key holds the owner, so tests cannot see each other's events. */
function newOwner(): string {
  return `usr_${randomUUID()}`;
}

/** 2026-05-01 at this UTC hour, as a client might send it. */
function at(hour: number, minute = 0): string {
  return `2026-05-01T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00Z`;
}

/** The same instant as the API stores and returns it. */
function iso(hour: number, minute = 0): string {
  return new Date(at(hour, minute)).toISOString();
}

interface Call {
  id?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Record<string, unknown>;
}

function request(owner: Who, method: string, call: Call = {}): ApiRequest {
  return {
    method,
    path: call.id === undefined ? '/calendar/v1/events' : `/calendar/v1/events/${call.id}`,
    pathParameters: call.id === undefined ? {} : { id: call.id },
    query: call.query ?? {},
    // A body is JSON unless a test says otherwise.
    headers: { ...(call.body === undefined ? {} : { 'content-type': 'application/json' }), ...call.headers },
    body: call.body === undefined ? undefined : typeof call.body === 'string' ? call.body : JSON.stringify(call.body),
    authorizer: { ...identity(owner), tokenUse: 'user', clientId: 'calendar-app', scope: 'read write' },
  };
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  raw: string;
  json: unknown;
}

function reply(result: APIGatewayProxyResult): Reply {
  const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)]));
  return { status: result.statusCode, headers, raw: result.body, json: result.body === '' ? undefined : JSON.parse(result.body) };
}

async function send(apiRequest: ApiRequest, target: EventStore = store): Promise<Reply> {
  return reply(await handleCalendarRequest(apiRequest, target));
}

const asEvent = (response: Reply): CalendarEvent => response.json as CalendarEvent;
const asPage = (response: Reply): EventPage => response.json as EventPage;
const asError = (response: Reply): ErrorBody => response.json as ErrorBody;

function assertError(response: Reply, status: number, error: string): ErrorBody {
  assert.equal(response.status, status, response.raw);
  assert.match(response.headers['content-type'] ?? '', /^application\/json/);
  const body = asError(response);
  assert.equal(body.error, error);
  assert.equal(typeof body.message, 'string');
  return body;
}

async function create(owner: Who, fields: Record<string, unknown>): Promise<CalendarEvent> {
  const response = await send(request(owner, 'POST', { body: fields }));
  assert.equal(response.status, 201, response.raw);
  return asEvent(response);
}

async function createAt(owner: Who, hour: number, title = `at ${hour}`): Promise<CalendarEvent> {
  return create(owner, { title, start: at(hour), end: at(hour, 30) });
}

async function get(owner: Who, id: string): Promise<Reply> {
  return send(request(owner, 'GET', { id }));
}

async function list(owner: Who, query: Record<string, string> = {}): Promise<EventPage> {
  const response = await send(request(owner, 'GET', { query }));
  assert.equal(response.status, 200, response.raw);
  return asPage(response);
}

/** Every page of a list, following nextCursor until null; bounded so a cursor loop fails instead of hanging. */
async function listAll(owner: Who, query: Record<string, string>, maxPages = 20): Promise<CalendarEvent[][]> {
  const pages: CalendarEvent[][] = [];
  let cursor: string | null | undefined;
  for (;;) {
    assert.ok(pages.length < maxPages, `more than ${maxPages} pages`);
    const page = await list(owner, cursor === undefined || cursor === null ? query : { ...query, cursor });
    pages.push(page.events);
    cursor = page.nextCursor;
    if (cursor === null) return pages;
  }
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeCursor(cursor: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** A store that fails the test if the API touches it. */
const untouchable: EventStore = {
  list: async () => assert.fail('list must not be called'),
  get: async () => assert.fail('get must not be called'),
  create: async () => assert.fail('create must not be called'),
  replace: async () => assert.fail('replace must not be called'),
  remove: async () => assert.fail('remove must not be called'),
};

/** A store every call of which rejects with this error. */
function failingStore(error: unknown): EventStore {
  const fail = async (): Promise<never> => {
    throw error;
  };
  return { list: fail, get: fail, create: fail, replace: fail, remove: fail };
}

const SOME_ID = '0b5e7a56-3c1d-4f5e-9a8b-7c6d5e4f3a2b';
const VALID_BODY = { title: 'Dentist', start: at(9), end: at(10) };

/** One request per route, for checks that must hold on all of them. */
function everyRoute(owner: Who, id = SOME_ID): [string, ApiRequest][] {
  return [
    ['list', request(owner, 'GET')],
    ['create', request(owner, 'POST', { body: VALID_BODY })],
    ['get', request(owner, 'GET', { id })],
    ['replace', request(owner, 'PUT', { id, headers: { 'if-match': '"1"' }, body: VALID_BODY })],
    ['delete', request(owner, 'DELETE', { id })],
    ['delete with If-Match', request(owner, 'DELETE', { id, headers: { 'if-match': '"1"' } })],
  ];
}

describe('calendar API: authentication', () => {
  it('answers 401 without an authenticated sub, before touching the store', async () => {
    for (const authorizer of [{}, { tokenUse: 'user', iss: ISSUER }, { sub: '', tokenUse: 'user', iss: ISSUER }, { sub: 42, tokenUse: 'user', iss: ISSUER }, { sub: null, tokenUse: 'user', iss: ISSUER }]) {
      for (const [route, apiRequest] of everyRoute('ignored')) {
        const response = await send({ ...apiRequest, authorizer }, untouchable);
        assertError(response, 401, 'unauthorized');
        assert.equal(response.headers['etag'], undefined, route);
      }
    }
  });

  it('answers 403 to anything but a user token, before touching the store', async () => {
    for (const tokenUse of ['client', undefined, 'User', '']) {
      for (const [, apiRequest] of everyRoute(newOwner())) {
        assertError(await send({ ...apiRequest, authorizer: { iss: ISSUER, sub: 'usr_1', tokenUse } }, untouchable), 403, 'forbidden');
      }
    }
  });

  it('answers 401 without the issuer of the sub, before touching the store', async () => {
    // A sub means nothing without its issuer: the owner is the pair.
    for (const iss of [undefined, '', 42, null, ['https://issuer-a.example/']]) {
      for (const [route, apiRequest] of everyRoute('usr_1')) {
        const response = await send({ ...apiRequest, authorizer: { sub: 'usr_1', iss, tokenUse: 'user' } }, untouchable);
        assertError(response, 401, 'unauthorized');
        assert.equal(response.headers['etag'], undefined, route);
      }
    }
  });

  it('answers 403 to an issuer and sub too long to be a DynamoDB key, before touching the store', async () => {
    const long = { iss: ISSUER, sub: `usr_${'x'.repeat(2048)}` };
    for (const [, apiRequest] of everyRoute(long)) assertError(await send(apiRequest, untouchable), 403, 'forbidden');
    // Just under the limit is a user like any other.
    const sub = 'x'.repeat(2048 - JSON.stringify([ISSUER, '']).length);
    assert.equal(Buffer.byteLength(ownerKey({ iss: ISSUER, sub })!), 2048);
    const event = await createAt({ iss: ISSUER, sub }, 9);
    assert.deepEqual((await list({ iss: ISSUER, sub })).events, [event]);
  });
});

describe('calendar API: create, read and list', () => {
  it('creates an event: 201 with ETag "1", a Location and the stored event', async () => {
    const owner = newOwner();
    const response = await send(request(owner, 'POST', { body: { title: '  Dentist ', start: '2026-05-01T11:00:00+02:00', end: at(10), description: 'bring card' } }));
    assert.equal(response.status, 201, response.raw);
    assert.equal(response.headers['etag'], '"1"');
    assert.match(response.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(response.headers['cache-control'], 'no-store');
    const event = asEvent(response);
    assert.match(event.id, UUID);
    assert.equal(response.headers['location'], `/calendar/v1/events/${event.id}`);
    assert.deepEqual(Object.keys(event).sort(), [...EVENT_KEYS, 'description'].sort());
    assert.equal(event.title, 'Dentist');
    assert.equal(event.start, iso(9));
    assert.equal(event.end, iso(10));
    assert.equal(event.description, 'bring card');
    assert.equal(event.version, 1);
    assert.equal(event.createdAt, event.updatedAt);
    assert.equal(new Date(event.createdAt).toISOString(), event.createdAt);

    const read = await get(owner, event.id);
    assert.equal(read.status, 200);
    assert.equal(read.headers['etag'], '"1"');
    assert.deepEqual(read.json, event);

    const page = await list(owner);
    assert.deepEqual(page, { events: [event], nextCursor: null });
  });

  it('issues a new id per create and omits an absent description', async () => {
    const owner = newOwner();
    const first = await create(owner, VALID_BODY);
    const second = await create(owner, VALID_BODY);
    assert.notEqual(first.id, second.id);
    assert.deepEqual(Object.keys(first).sort(), EVENT_KEYS);
    assert.deepEqual(Object.keys(asEvent(await get(owner, first.id))).sort(), EVENT_KEYS);
  });

  it('rejects an invalid body with 400 and every problem in details, creating nothing', async () => {
    const owner = newOwner();
    const response = await send(request(owner, 'POST', { body: { title: ' ', start: 'soon', end: at(9), owner: 'usr_other' } }));
    const body = assertError(response, 400, 'invalid_request');
    assert.deepEqual(body.details?.map((detail) => detail.field), ['owner', 'title', 'start']);
    assertError(await send(request(owner, 'POST')), 400, 'invalid_request');
    assertError(await send(request(owner, 'POST', { body: '{"title":' })), 400, 'invalid_request');
    assertError(await send(request(owner, 'POST', { body: `{"title":"${'x'.repeat(17000)}"}` })), 413, 'payload_too_large');
    assert.deepEqual(await list(owner), { events: [], nextCursor: null });
  });

  it('lists an owner\'s events sorted by start, whatever order they were created in', async () => {
    const owner = newOwner();
    const created = [];
    for (const hour of [14, 9, 17, 11]) created.push(await createAt(owner, hour));
    // Two events at the same start are both kept.
    created.push(await create(owner, { title: 'also at 11', start: '2026-05-01T13:00:00+02:00', end: at(12) }));
    const page = await list(owner);
    assert.equal(page.nextCursor, null);
    assert.deepEqual(page.events.map((event) => event.start), [iso(9), iso(11), iso(11), iso(14), iso(17)]);
    assert.deepEqual(page.events.map((event) => event.id).sort(), created.map((event) => event.id).sort());
    for (const event of page.events) assert.deepEqual(Object.keys(event).sort(), EVENT_KEYS);
  });

  it('filters by start time in the window [from, to)', async () => {
    const owner = newOwner();
    for (const hour of [8, 9, 10, 11, 12]) await createAt(owner, hour);
    const starts = async (query: Record<string, string>) => (await list(owner, query)).events.map((event) => event.start);
    assert.deepEqual(await starts({ from: at(9), to: at(11) }), [iso(9), iso(10)]);
    // The same window written with offsets.
    assert.deepEqual(await starts({ from: '2026-05-01T11:00:00+02:00', to: '2026-05-01T06:00:00-05:00' }), [iso(9), iso(10)]);
    assert.deepEqual(await starts({ from: at(11) }), [iso(11), iso(12)]);
    assert.deepEqual(await starts({ to: at(11) }), [iso(8), iso(9), iso(10)]);
    assert.deepEqual(await starts({ from: '2026-05-01T09:00:00.001Z', to: '2026-05-01T10:00:00.001Z' }), [iso(10)]);
    assert.deepEqual(await starts({ from: at(13) }), []);
    assert.deepEqual(await starts({ to: at(8) }), []);
  });

  it('rejects an invalid list query with 400 naming the parameters', async () => {
    const owner = newOwner();
    for (const [query, fields] of [
      [{ limit: '0' }, ['limit']], [{ limit: '101' }, ['limit']], [{ from: at(10), to: at(9) }, ['to']],
      [{ owner: 'usr_other' }, ['owner']], [{ cursor: 'a+b=' }, ['cursor']],
    ] as const) {
      const body = assertError(await send(request(owner, 'GET', { query })), 400, 'invalid_request');
      assert.deepEqual(body.details?.map((detail) => detail.field), fields);
    }
  });
});

describe('calendar API: pagination', () => {
  it('pages through 5 events 2 at a time, each exactly once and in start order', async () => {
    const owner = newOwner();
    const created = [];
    for (const hour of [13, 9, 11, 10, 12]) created.push(await createAt(owner, hour));
    const pages = await listAll(owner, { limit: '2' });
    for (const page of pages) assert.ok(page.length <= 2);
    assert.deepEqual(pages.slice(0, 3).map((page) => page.length), [2, 2, 1]);
    const events = pages.flat();
    assert.deepEqual(events.map((event) => event.start), [iso(9), iso(10), iso(11), iso(12), iso(13)]);
    assert.equal(new Set(events.map((event) => event.id)).size, 5);
    assert.deepEqual(events.map((event) => event.id).sort(), created.map((event) => event.id).sort());
  });

  it('keeps to the window while paging', async () => {
    const owner = newOwner();
    for (const hour of [7, 8, 9, 10, 11, 12, 13, 14]) await createAt(owner, hour);
    const events = (await listAll(owner, { limit: '2', from: at(8), to: at(13) })).flat();
    assert.deepEqual(events.map((event) => event.start), [iso(8), iso(9), iso(10), iso(11), iso(12)]);
  });

  it('refuses another user\'s cursor with 400 naming cursor, and shows nothing of theirs', async () => {
    const alice = newOwner();
    const bob = newOwner();
    for (const hour of [9, 10, 11]) await createAt(alice, hour);
    const page = await list(alice, { limit: '1' });
    assert.ok(page.nextCursor !== null);
    const response = await send(request(bob, 'GET', { query: { limit: '1', cursor: page.nextCursor } }));
    const body = assertError(response, 400, 'invalid_request');
    assert.deepEqual(body.details?.map((detail) => detail.field), ['cursor']);
    assert.doesNotMatch(response.raw, /at \d/);
    // Bob forging a cursor that names Alice's partition fares no better.
    const forged = base64url({ ...decodeCursor(page.nextCursor), owner: alice });
    assertError(await send(request(bob, 'GET', { query: { cursor: forged } })), 400, 'invalid_request');
    assert.deepEqual(await list(bob), { events: [], nextCursor: null });
  });

  it('refuses tampered cursors with 400 naming cursor', async () => {
    const owner = newOwner();
    for (const hour of [9, 10, 11]) await createAt(owner, hour);
    const page = await list(owner, { limit: '1' });
    assert.ok(page.nextCursor !== null);
    const key = decodeCursor(page.nextCursor);
    assert.deepEqual(Object.keys(key).sort(), ['id', 'owner', 'startKey']);
    // The genuine cursor works.
    assert.equal((await list(owner, { limit: '1', cursor: page.nextCursor })).events[0]?.start, iso(10));
    const tampered = [
      base64url({ ...key, extra: 'x' }),
      base64url({ owner, id: key['id'] }),
      base64url({ owner, id: key['id'], title: 'x' }),
      base64url({ ...key, id: 7 }),
      base64url({ ...key, startKey: { S: 'x' } }),
      base64url({ ...key, owner: `${owner}x` }),
      base64url(null),
      base64url([owner, key['id'], key['startKey']]),
      base64url('a string'),
      Buffer.from('not json').toString('base64url'),
      'AAAA',
    ];
    for (const cursor of tampered) {
      const body = assertError(await send(request(owner, 'GET', { query: { cursor } })), 400, 'invalid_request');
      assert.deepEqual(body.details?.map((detail) => detail.field), ['cursor'], cursor);
    }
  });

  it('refuses with 400 naming cursor a genuine cursor reused outside its query\'s window', async () => {
    const owner = newOwner();
    for (const hour of [9, 10, 11]) await createAt(owner, hour);
    const page = await list(owner, { limit: '1' });
    assert.ok(page.nextCursor !== null);
    const windows: Record<string, string>[] = [{ from: at(11) }, { from: at(10, 30), to: at(12) }, { to: at(9) }];
    for (const query of windows.map((window) => ({ ...window, cursor: page.nextCursor! }))) {
      const body = assertError(await send(request(owner, 'GET', { query })), 400, 'invalid_request');
      assert.deepEqual(body.details?.map((detail) => detail.field), ['cursor']);
    }
  });

  it('refuses with 400 naming cursor a tampered cursor whose key values are empty', async () => {
    const owner = newOwner();
    for (const cursor of [base64url({ owner, id: '', startKey: '' }), base64url({ owner, id: randomUUID(), startKey: '' })]) {
      const body = assertError(await send(request(owner, 'GET', { query: { cursor } })), 400, 'invalid_request');
      assert.deepEqual(body.details?.map((detail) => detail.field), ['cursor']);
    }
  });
});

describe('calendar API: owners are isolated', () => {
  it('answers 404 to another user\'s GET, PUT and DELETE and leaves the event unchanged', async () => {
    const alice = newOwner();
    const bob = newOwner();
    const event = await create(alice, { ...VALID_BODY, description: 'private' });
    assertError(await get(bob, event.id), 404, 'not_found');
    assertError(await send(request(bob, 'PUT', { id: event.id, headers: { 'if-match': '"1"' }, body: { ...VALID_BODY, title: 'hijacked' } })), 404, 'not_found');
    assertError(await send(request(bob, 'DELETE', { id: event.id })), 404, 'not_found');
    assertError(await send(request(bob, 'DELETE', { id: event.id, headers: { 'if-match': '"1"' } })), 404, 'not_found');
    // Indistinguishable from an id that does not exist.
    const missing = await get(bob, randomUUID());
    assert.deepEqual(missing.json, (await get(bob, event.id)).json);

    const read = await get(alice, event.id);
    assert.equal(read.status, 200);
    assert.equal(read.headers['etag'], '"1"');
    assert.deepEqual(read.json, event);
    assert.deepEqual(await list(bob), { events: [], nextCursor: null });
    assert.deepEqual((await list(alice)).events, [event]);
  });

  it('keeps the same sub at two issuers apart: two users, neither sees or touches the other\'s events', async () => {
    const sub = newOwner();
    const atA = { iss: ISSUER, sub };
    const atB = { iss: OTHER_ISSUER, sub };
    const event = await create(atA, { ...VALID_BODY, description: 'issuer A only' });
    assertError(await get(atB, event.id), 404, 'not_found');
    assertError(await send(request(atB, 'PUT', { id: event.id, headers: { 'if-match': '"1"' }, body: { ...VALID_BODY, title: 'hijacked' } })), 404, 'not_found');
    assertError(await send(request(atB, 'DELETE', { id: event.id })), 404, 'not_found');
    assert.deepEqual(await list(atB), { events: [], nextCursor: null });
    const theirs = await createAt(atB, 11);
    assert.deepEqual((await list(atA)).events, [event]);
    assert.deepEqual((await list(atB)).events, [theirs]);
    // Nor does issuer A's cursor page through issuer B's user.
    await createAt(atA, 12);
    const page = await list(atA, { limit: '1' });
    assert.ok(page.nextCursor !== null);
    assertError(await send(request(atB, 'GET', { query: { cursor: page.nextCursor } })), 400, 'invalid_request');
  });

  it('gives different (iss, sub) pairs different owners even where a joined string would be the same', async () => {
    const tag = randomUUID();
    // Pairs that `iss + sub` joined plainly, or with `#` or `:`, or quoted naively, would merge.
    const base = `https://a.example/${tag}`;
    const pairs = [
      { iss: base, sub: 'xy' }, { iss: `${base}x`, sub: 'y' },
      { iss: base, sub: 'x#y' }, { iss: `${base}#x`, sub: 'y' },
      { iss: base, sub: 'x:y' }, { iss: `${base}:x`, sub: 'y' },
      { iss: `${base}","x`, sub: 'y' }, { iss: base, sub: 'x","y' },
      { iss: `${base}\\`, sub: 'y' }, { iss: base, sub: '\\y' },
    ];
    assert.equal(new Set(pairs.map((pair) => ownerKey(pair))).size, pairs.length);
    const events = [];
    for (const pair of pairs) events.push(await createAt(pair, 9));
    for (const [index, pair] of pairs.entries()) {
      assert.deepEqual((await list(pair)).events.map((event) => event.id), [events[index]!.id], JSON.stringify(pair));
    }
  });

  it('keeps each user\'s list to their own events', async () => {
    const alice = newOwner();
    const bob = newOwner();
    const mine = await createAt(alice, 9);
    const theirs = await createAt(bob, 9);
    assert.deepEqual((await list(alice)).events.map((event) => event.id), [mine.id]);
    assert.deepEqual((await list(bob, { from: at(8), to: at(10) })).events.map((event) => event.id), [theirs.id]);
  });
});

describe('calendar API: replace with optimistic concurrency', () => {
  it('requires If-Match: 428 without it, and the event is unchanged', async () => {
    const owner = newOwner();
    const event = await createAt(owner, 9);
    assertError(await send(request(owner, 'PUT', { id: event.id, body: VALID_BODY })), 428, 'precondition_required');
    assert.deepEqual((await get(owner, event.id)).json, event);
  });

  it('replaces with the current ETag: 200, ETag "2", createdAt kept, updatedAt not earlier; a stale ETag gets 412', async () => {
    const owner = newOwner();
    const event = await create(owner, { title: 'Dentist', start: at(9), end: at(10), description: 'bring card' });
    const replaced = await send(request(owner, 'PUT', {
      id: event.id, headers: { 'if-match': '"1"' }, body: { title: ' Dentist (moved) ', start: at(15), end: '2026-05-01T17:30:00+02:00' },
    }));
    assert.equal(replaced.status, 200, replaced.raw);
    assert.equal(replaced.headers['etag'], '"2"');
    const updated = asEvent(replaced);
    assert.equal(updated.id, event.id);
    assert.equal(updated.version, 2);
    assert.equal(updated.title, 'Dentist (moved)');
    assert.equal(updated.start, iso(15));
    assert.equal(updated.end, iso(15, 30));
    assert.equal(updated.createdAt, event.createdAt);
    assert.ok(updated.updatedAt >= event.updatedAt, `${updated.updatedAt} < ${event.updatedAt}`);
    assert.equal(new Date(updated.updatedAt).toISOString(), updated.updatedAt);
    // A replace, not a merge: the description that was not sent is gone.
    assert.deepEqual(Object.keys(updated).sort(), EVENT_KEYS);

    const read = await get(owner, event.id);
    assert.equal(read.headers['etag'], '"2"');
    assert.deepEqual(read.json, updated);

    const stale = await send(request(owner, 'PUT', { id: event.id, headers: { 'if-match': '"1"' }, body: { ...VALID_BODY, title: 'lost update' } }));
    assertError(stale, 412, 'precondition_failed');
    assert.equal(stale.headers['etag'], '"2"');
    const ahead = await send(request(owner, 'PUT', { id: event.id, headers: { 'if-match': '"7"' }, body: VALID_BODY }));
    assertError(ahead, 412, 'precondition_failed');
    assert.equal(ahead.headers['etag'], '"2"');
    assert.deepEqual((await get(owner, event.id)).json, updated);
  });

  it('moves a replaced event to its new place in the start order and window', async () => {
    const owner = newOwner();
    const early = await createAt(owner, 9, 'early');
    const late = await createAt(owner, 10, 'late');
    const moved = await send(request(owner, 'PUT', { id: early.id, headers: { 'if-match': '"1"' }, body: { title: 'early', start: at(11), end: at(12) } }));
    assert.equal(moved.status, 200, moved.raw);
    assert.deepEqual((await list(owner)).events.map((event) => event.id), [late.id, early.id]);
    assert.deepEqual((await list(owner, { to: at(10, 30) })).events.map((event) => event.id), [late.id]);
    assert.deepEqual((await list(owner, { from: at(11) })).events.map((event) => event.id), [early.id]);
  });

  it('rejects a malformed If-Match with 400 before writing', async () => {
    const owner = newOwner();
    const event = await createAt(owner, 9);
    for (const ifMatch of ['W/"1"', '*', '1', '"1", "2"', '"abc"', '""', '"1', '']) {
      const body = assertError(await send(request(owner, 'PUT', { id: event.id, headers: { 'if-match': ifMatch }, body: VALID_BODY })), 400, 'invalid_request');
      assert.match(body.message, /If-Match/, ifMatch);
    }
    assert.deepEqual((await get(owner, event.id)).json, event);
  });

  it('rejects an invalid body with 400 and details, leaving the event unchanged', async () => {
    const owner = newOwner();
    const event = await createAt(owner, 9);
    const body = assertError(await send(request(owner, 'PUT', { id: event.id, headers: { 'if-match': '"1"' }, body: { title: 'x', start: at(10), end: at(9) } })), 400, 'invalid_request');
    assert.deepEqual(body.details?.map((detail) => detail.field), ['end']);
    assert.deepEqual((await get(owner, event.id)).json, event);
  });

  it('answers 404 to a replace of an event that does not exist', async () => {
    const owner = newOwner();
    assertError(await send(request(owner, 'PUT', { id: randomUUID(), headers: { 'if-match': '"1"' }, body: VALID_BODY })), 404, 'not_found');
    assert.deepEqual(await list(owner), { events: [], nextCursor: null });
  });

  it('lets exactly one of two concurrent replaces with the same ETag win', async () => {
    const owner = newOwner();
    const event = await createAt(owner, 9);
    const put = (title: string, version: number) => send(request(owner, 'PUT', { id: event.id, headers: { 'if-match': `"${version}"` }, body: { ...VALID_BODY, title } }));
    const pair = await Promise.all([put('first', 1), put('second', 1)]);
    assert.deepEqual(pair.map((response) => response.status).sort(), [200, 412]);
    const winner = pair.find((response) => response.status === 200)!;
    assert.equal(pair.find((response) => response.status === 412)!.headers['etag'], '"2"');
    assert.deepEqual((await get(owner, event.id)).json, winner.json);

    const crowd = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((title) => put(title, 2)));
    assert.deepEqual(crowd.map((response) => response.status).sort(), [200, 412, 412, 412, 412]);
    for (const response of crowd.filter((each) => each.status === 412)) assert.equal(response.headers['etag'], '"3"');
    const read = await get(owner, event.id);
    assert.equal(read.headers['etag'], '"3"');
    assert.deepEqual(read.json, crowd.find((response) => response.status === 200)!.json);
  });

  it('lets exactly one of a concurrent replace and delete with the same ETag succeed', async () => {
    const owner = newOwner();
    const event = await createAt(owner, 9);
    const [replaced, deleted] = await Promise.all([
      send(request(owner, 'PUT', { id: event.id, headers: { 'if-match': '"1"' }, body: VALID_BODY })),
      send(request(owner, 'DELETE', { id: event.id, headers: { 'if-match': '"1"' } })),
    ]);
    const outcome = [replaced.status, deleted.status];
    assert.ok(JSON.stringify(outcome) === '[200,412]' || JSON.stringify(outcome) === '[404,204]', JSON.stringify(outcome));
    assert.equal((await get(owner, event.id)).status, deleted.status === 204 ? 404 : 200);
  });
});

describe('calendar API: delete', () => {
  it('deletes: 204 with an empty body, then GET and DELETE answer 404', async () => {
    const owner = newOwner();
    const keep = await createAt(owner, 10);
    const event = await createAt(owner, 9);
    const deleted = await send(request(owner, 'DELETE', { id: event.id }));
    assert.equal(deleted.status, 204);
    assert.equal(deleted.raw, '');
    assertError(await get(owner, event.id), 404, 'not_found');
    assertError(await send(request(owner, 'DELETE', { id: event.id })), 404, 'not_found');
    assertError(await send(request(owner, 'DELETE', { id: event.id, headers: { 'if-match': '"1"' } })), 404, 'not_found');
    assert.deepEqual((await list(owner)).events, [keep]);
  });

  it('refuses a delete with a stale If-Match with 412 and the current ETag, and keeps the event', async () => {
    const owner = newOwner();
    const event = await createAt(owner, 9);
    const replaced = await send(request(owner, 'PUT', { id: event.id, headers: { 'if-match': '"1"' }, body: VALID_BODY }));
    assert.equal(replaced.status, 200);
    const stale = await send(request(owner, 'DELETE', { id: event.id, headers: { 'if-match': '"1"' } }));
    assertError(stale, 412, 'precondition_failed');
    assert.equal(stale.headers['etag'], '"2"');
    assert.deepEqual((await get(owner, event.id)).json, replaced.json);
    assertError(await send(request(owner, 'DELETE', { id: event.id, headers: { 'if-match': 'W/"2"' } })), 400, 'invalid_request');
    assert.equal((await get(owner, event.id)).status, 200);
    assert.equal((await send(request(owner, 'DELETE', { id: event.id, headers: { 'if-match': '"2"' } }))).status, 204);
    assertError(await get(owner, event.id), 404, 'not_found');
  });
});

describe('calendar API: routing', () => {
  it('answers 404 to ids that are not UUIDs we issue, before touching the store', async () => {
    const owner = newOwner();
    for (const id of ['abc', '1', SOME_ID.toUpperCase(), `${SOME_ID}x`, ` ${SOME_ID}`, `${SOME_ID}/x`, '../events', '']) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        assertError(await send(request(owner, method, { id, headers: { 'if-match': '"1"' }, body: VALID_BODY }), untouchable), 404, 'not_found');
      }
    }
  });

  it('answers 405 to unsupported methods', async () => {
    const owner = newOwner();
    for (const method of ['PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS']) {
      const body = assertError(await send(request(owner, method, { body: VALID_BODY }), untouchable), 405, 'method_not_allowed');
      assert.match(body.message, new RegExp(method));
    }
    for (const method of ['PATCH', 'POST', 'HEAD', 'OPTIONS']) {
      assertError(await send(request(owner, method, { id: SOME_ID, body: VALID_BODY }), untouchable), 405, 'method_not_allowed');
    }
  });
});

describe('calendar API: errors of the store', () => {
  it('answers 503 service_unavailable on every route when the database is unreachable, without internals', { timeout: 20_000 }, async () => {
    const gone = await startDynamoDb({ port: 0, tableName: TABLE });
    await gone.stop();
    const unreachable = new DynamoEventStore({ tableName: TABLE, endpoint: gone.endpoint, region: 'us-east-1' });
    const owner = newOwner();
    // The SDK's own timeouts and retry limit bound each call; the test's timeout bounds them all.
    const settled = await Promise.allSettled(everyRoute(owner).map(async ([route, apiRequest]) => [route, await send(apiRequest, unreachable)] as const));
    for (const outcome of settled) {
      assert.equal(outcome.status, 'fulfilled', 'the API must answer, not throw');
      if (outcome.status !== 'fulfilled') continue;
      const [route, response] = outcome.value;
      assert.equal(response.status, 503, `${route}: ${response.raw}`);
      assert.deepEqual(Object.keys(response.json as object).sort(), ['error', 'message'], route);
      assert.equal(asError(response).error, 'service_unavailable', route);
      assert.doesNotMatch(response.raw, /ECONNREFUSED|127\.0\.0\.1|\bat \S+ \(|Error|stack|node_modules/, route);
      assert.equal(response.headers['etag'], undefined, route);
    }
  });

  it('answers 503 to throttling and 500 internal_error to anything else, never with internals', async () => {
    const owner = newOwner();
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: { httpStatusCode: 400 } });
    for (const [, apiRequest] of everyRoute(owner)) {
      assertError(await send(apiRequest, failingStore(throttled)), 503, 'service_unavailable');
    }
    const bug = new TypeError('Cannot read properties of undefined (reading \'version\')');
    const missingTable = new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: { httpStatusCode: 400 } });
    for (const error of [bug, missingTable]) {
      for (const [route, apiRequest] of everyRoute(owner)) {
        const response = await send(apiRequest, failingStore(error));
        assert.deepEqual(response.json, { error: 'internal_error', message: 'unexpected error' }, route);
        assert.equal(response.status, 500);
        assert.doesNotMatch(response.raw, /version|resource|TypeError|at /, route);
      }
    }
  });

  it('tells the operator the cause of every 503 and 500 that the client does not see, and of nothing else', async () => {
    const owner = newOwner();
    const reported: [string, unknown][] = [];
    const report = (reason: string, error: unknown) => reported.push([reason, error]);
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: { httpStatusCode: 400 } });
    const bug = new TypeError('boom');
    const [[, list]] = everyRoute(owner) as [[string, ApiRequest]];
    await handleCalendarRequest(list, failingStore(throttled), report);
    await handleCalendarRequest(list, failingStore(bug), report);
    await handleCalendarRequest(list, store, report);
    await handleCalendarRequest(list, failingStore(new EventNotFoundError()), report);
    assert.deepEqual(reported, [['store_unavailable', throttled], ['internal_error', bug]]);
  });
});

describe('isUnavailable', () => {
  it('is true for SDK errors with a 5xx or no status, throttling and timeouts, and network failures', () => {
    const unavailable: unknown[] = [
      { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } },
      { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } },
      { name: 'Error', $metadata: { attempts: 2, totalRetryDelay: 0 } },
      { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } },
      { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } },
      { name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 400 } },
      new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: { httpStatusCode: 400 } }),
      Object.assign(new Error('timed out'), { name: 'TimeoutError' }),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      ...['ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE'].map((code) => Object.assign(new Error(code), { code })),
    ];
    for (const error of unavailable) assert.equal(isUnavailable(error), true, JSON.stringify(error));
  });

  it('is false for bugs, client errors and non-errors', () => {
    const notUnavailable: unknown[] = [
      new TypeError('x is not a function'),
      new Error('plain'),
      Object.assign(new Error('no such file'), { code: 'ENOENT' }),
      Object.assign(new Error('refused'), { code: 'ECONNREFUSEDX' }),
      { name: 'ValidationException', $metadata: { httpStatusCode: 400 } },
      { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } },
      new ConditionalCheckFailedException({ message: 'conditional request failed', $metadata: { httpStatusCode: 400 } }),
      new ResourceNotFoundException({ message: 'no table', $metadata: { httpStatusCode: 400 } }),
      null, undefined, 'ECONNREFUSED', 503,
    ];
    for (const error of notUnavailable) assert.equal(isUnavailable(error), false, String(error));
  });
});

describe('calendar API: media types', () => {
  const refused = [
    'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain', 'text/json', 'application/jsonx', 'application/json-seq',
    'application/xjson', 'application/+json', 'application/json, text/plain', 'application/json; charset=iso-8859-1', 'application/json; charset=utf-16',
    '', ' ', 'json',
  ];
  const accepted = [
    'application/json', 'Application/JSON', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'application/json; charset="utf-8"',
    'application/json; foo=bar', 'application/merge-patch+json', 'application/vnd.api+json; charset=utf-8', ' application/json ',
  ];

  it('answers 415 with the JSON error shape to a body that is not declared JSON, before touching the store', async () => {
    const owner = newOwner();
    for (const type of [...refused, undefined]) {
      const headers: Record<string, string> = type === undefined ? {} : { 'content-type': type };
      const post = request(owner, 'POST', { body: VALID_BODY });
      const put = request(owner, 'PUT', { id: SOME_ID, body: VALID_BODY });
      for (const apiRequest of [{ ...post, headers }, { ...put, headers: { ...headers, 'if-match': '"1"' } }]) {
        const body = assertError(await send(apiRequest, untouchable), 415, 'unsupported_media_type');
        assert.deepEqual(body.details?.map((detail) => detail.field), ['content-type'], String(type));
      }
    }
  });

  it('accepts JSON, any case, with parameters, a UTF-8 charset, or a +json structured type', async () => {
    const owner = newOwner();
    for (const type of accepted) {
      const created = await send({ ...request(owner, 'POST', { body: VALID_BODY }), headers: { 'content-type': type } });
      assert.equal(created.status, 201, `${type}: ${created.raw}`);
      const id = asEvent(created).id;
      const replaced = await send({ ...request(owner, 'PUT', { id, body: VALID_BODY }), headers: { 'content-type': type, 'if-match': '"1"' } });
      assert.equal(replaced.status, 200, `${type}: ${replaced.raw}`);
    }
  });

  it('keeps the 400 of a missing body, and the If-Match checks first on a replace', async () => {
    const owner = newOwner();
    assertError(await send({ ...request(owner, 'POST'), headers: { 'content-type': 'text/plain' } }), 400, 'invalid_request');
    assertError(await send({ ...request(owner, 'PUT', { id: SOME_ID, body: VALID_BODY }), headers: { 'content-type': 'text/plain' } }, untouchable), 428, 'precondition_required');
  });
});

type HttpApiEvent = APIGatewayProxyEventV2WithRequestContext<APIGatewayEventRequestContextV2WithAuthorizer<unknown>>;

/**
 * Where a REST request arrived: by default API Gateway's execute-api host, stage `dev`, where
 * `path` drops the stage and `requestContext.path` keeps it. `prefix` goes in front of both paths
 * (a custom domain's base path is in both), `contextPath` replaces requestContext.path.
 */
interface RestArrival { prefix?: string; contextPath?: (path: string) => string; stage?: string; domainName?: string }

/** A REST API (payload 1.0) proxy event as API Gateway sends it after a Lambda authorizer allowed it. */
function restEvent(method: string, options: { id?: string; body?: string; base64?: boolean; headers?: Record<string, string>; query?: Record<string, string>; authorizer: Record<string, unknown> | null; arrival?: RestArrival }): APIGatewayProxyEvent {
  const resource = options.id === undefined ? '/calendar/v1/events' : '/calendar/v1/events/{id}';
  const { prefix = '', contextPath = (bare: string) => `/dev${bare}`, stage = 'dev', domainName = 'abc123.execute-api.us-east-1.amazonaws.com' } = options.arrival ?? {};
  const path = `${prefix}${options.id === undefined ? resource : `/calendar/v1/events/${options.id}`}`;
  const headers = { Host: 'api.example.com', 'User-Agent': 'test', 'Content-Type': 'application/json', ...options.headers };
  return {
    resource, path, httpMethod: method, headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: options.query === undefined ? null : Object.fromEntries(Object.entries(options.query).map(([name, value]) => [name, [value]])),
    pathParameters: options.id === undefined ? null : { id: options.id },
    stageVariables: null,
    body: options.body === undefined ? null : options.base64 ? Buffer.from(options.body).toString('base64') : options.body,
    isBase64Encoded: options.base64 ?? false,
    requestContext: {
      accountId: '123456789012', apiId: 'abc123', authorizer: options.authorizer, protocol: 'HTTP/1.1', httpMethod: method, path: contextPath(path),
      domainName, stage, requestId: randomUUID(), requestTimeEpoch: 1777626000000, resourceId: 'res1', resourcePath: resource,
      identity: {
        accessKey: null, accountId: null, apiKey: null, apiKeyId: null, caller: null, clientCert: null, cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null, cognitoIdentityId: null, cognitoIdentityPoolId: null, principalOrgId: null, sourceIp: '192.0.2.1',
        user: null, userAgent: 'test', userArn: null,
      },
    },
  };
}

/** An HTTP API (payload 2.0) proxy event; a Lambda authorizer's context arrives as `authorizer`. */
function httpApiEvent(method: string, options: { id?: string; body?: string; headers?: Record<string, string>; query?: Record<string, string>; authorizer: unknown; stage?: string; rawPathPrefix?: string }): HttpApiEvent {
  const routeKey = `${method} ${options.id === undefined ? '/calendar/v1/events' : '/calendar/v1/events/{id}'}`;
  // A named stage's prefix is in rawPath; `$default` has none.
  const stage = options.stage ?? '$default';
  const rawPath = `${options.rawPathPrefix ?? (stage === '$default' ? '' : `/${stage}`)}${options.id === undefined ? '/calendar/v1/events' : `/calendar/v1/events/${options.id}`}`;
  const event: HttpApiEvent = {
    version: '2.0', routeKey, rawPath,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers: { host: 'api.example.com', 'user-agent': 'test', 'content-type': 'application/json', ...options.headers },
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012', apiId: 'abc123', domainName: 'api.example.com', domainPrefix: 'api', requestId: randomUUID(), routeKey,
      stage, time: '01/May/2026:09:00:00 +0000', timeEpoch: 1777626000000,
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
      authorizer: options.authorizer,
    },
  };
  if (options.query !== undefined) event.queryStringParameters = options.query;
  if (options.id !== undefined) event.pathParameters = { id: options.id };
  if (options.body !== undefined) event.body = options.body;
  return event;
}

describe('calendar API behind API Gateway (proxy events through the Lambda handler)', () => {
  it('serves a REST API (1.0) and an HTTP API (2.0) caller, taking the owner from the authorizer context only', async () => {
    const owner = newOwner();
    const restAuthorizer = { principalId: owner, sub: owner, iss: ISSUER, tokenUse: 'user', clientId: 'calendar-app', scope: 'read write', integrationLatency: 3 };
    const httpAuthorizer = { lambda: { sub: owner, iss: ISSUER, tokenUse: 'user', clientId: 'calendar-app', scope: 'read write' } };

    // REST API: base64 body, mixed-case header names.
    const created = reply(await handler(restEvent('POST', { body: JSON.stringify({ title: 'Über-meeting', start: at(9), end: at(10) }), base64: true, authorizer: restAuthorizer })));
    assert.equal(created.status, 201, created.raw);
    const event = asEvent(created);
    assert.equal(event.title, 'Über-meeting');
    // Behind the REST stage URL, the event is under /dev.
    assert.equal(created.headers['location'], `/dev/calendar/v1/events/${event.id}`);
    assert.deepEqual(asEvent(await get(owner, event.id)), event);

    // HTTP API: the authorizer context is nested under `lambda`.
    const read = reply(await handler(httpApiEvent('GET', { id: event.id, authorizer: httpAuthorizer })));
    assert.equal(read.status, 200, read.raw);
    assert.deepEqual(read.json, event);
    const listed = reply(await handler(httpApiEvent('GET', { query: { from: at(9), limit: '5' }, authorizer: httpAuthorizer })));
    assert.deepEqual(listed.json, { events: [event], nextCursor: null });
    // The same sub from another trusted issuer is another user, on both payload versions.
    const elsewhere = { lambda: { ...httpAuthorizer.lambda, iss: OTHER_ISSUER } };
    assertError(reply(await handler(httpApiEvent('GET', { id: event.id, authorizer: elsewhere }))), 404, 'not_found');
    assert.deepEqual(reply(await handler(httpApiEvent('GET', { authorizer: elsewhere }))).json, { events: [], nextCursor: null });
    assertError(reply(await handler(restEvent('GET', { id: event.id, authorizer: { ...restAuthorizer, iss: OTHER_ISSUER } }))), 404, 'not_found');

    const replaced = reply(await handler(restEvent('PUT', {
      id: event.id, headers: { 'If-Match': '"1"' }, body: JSON.stringify({ title: 'moved', start: at(11), end: at(12) }), authorizer: restAuthorizer,
    })));
    assert.equal(replaced.status, 200, replaced.raw);
    assert.equal(replaced.headers['etag'], '"2"');

    const stale = reply(await handler(httpApiEvent('DELETE', { id: event.id, headers: { 'if-match': '"1"' }, authorizer: httpAuthorizer })));
    assert.equal(stale.status, 412);
    const deleted = reply(await handler(httpApiEvent('DELETE', { id: event.id, headers: { 'if-match': '"2"' }, authorizer: httpAuthorizer })));
    assert.equal(deleted.status, 204);
    assertError(await get(owner, event.id), 404, 'not_found');
  });

  it('answers a create with the Location the client can use, with the stage or base path it called', async () => {
    const owner = newOwner();
    const restAuthorizer = { principalId: owner, sub: owner, iss: ISSUER, tokenUse: 'user' };
    const body = JSON.stringify(VALID_BODY);
    const cases: [string, APIGatewayProxyEvent | HttpApiEvent, string][] = [
      ['REST, execute-api host', restEvent('POST', { body, authorizer: restAuthorizer }), '/dev/calendar/v1/events'],
      ['REST, stage prod', restEvent('POST', { body, authorizer: restAuthorizer, arrival: { stage: 'prod', contextPath: (bare) => `/prod${bare}` } }), '/prod/calendar/v1/events'],
      ['REST, custom domain, base path', restEvent('POST', { body, authorizer: restAuthorizer, arrival: { prefix: '/cal', contextPath: (full) => full, domainName: 'api.example.com' } }), '/cal/calendar/v1/events'],
      ['REST, custom domain at its root', restEvent('POST', { body, authorizer: restAuthorizer, arrival: { contextPath: (full) => full, domainName: 'api.example.com' } }), '/calendar/v1/events'],
      // serverless offline serves /dev/… but passes the bare path in both fields and no real domain.
      ['REST, serverless offline', restEvent('POST', { body, authorizer: restAuthorizer, arrival: { contextPath: (bare) => bare, domainName: 'offlineContext_domainName' } }), '/dev/calendar/v1/events'],
      ['REST, trailing slash', restEvent('POST', { body, authorizer: restAuthorizer, arrival: { contextPath: (bare) => `/dev${bare}/` } }), '/dev/calendar/v1/events'],
      ['HTTP API, $default stage', httpApiEvent('POST', { body, authorizer: { lambda: restAuthorizer } }), '/calendar/v1/events'],
      ['HTTP API, stage beta', httpApiEvent('POST', { body, authorizer: { lambda: restAuthorizer }, stage: 'beta' }), '/beta/calendar/v1/events'],
      // Never a Location another host could be read from.
      ['HTTP API, path starting //', httpApiEvent('POST', { body, authorizer: { lambda: restAuthorizer }, rawPathPrefix: '//evil.example' }), '/calendar/v1/events'],
      ['HTTP API, path with a space', httpApiEvent('POST', { body, authorizer: { lambda: restAuthorizer }, rawPathPrefix: '/a b' }), '/calendar/v1/events'],
    ];
    for (const [name, proxyEvent, collection] of cases) {
      const created = reply(await handler(proxyEvent));
      assert.equal(created.status, 201, `${name}: ${created.raw}`);
      assert.equal(created.headers['location'], `${collection}/${asEvent(created).id}`, name);
    }
  });

  it('answers 415 to a form-encoded create or replace on both payload versions, and stores nothing', async () => {
    const owner = newOwner();
    const authorizer = { principalId: owner, sub: owner, iss: ISSUER, tokenUse: 'user' };
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
    // The body is valid JSON: only the declared type is wrong.
    const body = JSON.stringify(VALID_BODY);
    assertError(reply(await handler(restEvent('POST', { body, headers: form, authorizer }))), 415, 'unsupported_media_type');
    assertError(reply(await handler(httpApiEvent('POST', { body, headers: { 'content-type': 'application/x-www-form-urlencoded' }, authorizer: { lambda: authorizer } }))), 415, 'unsupported_media_type');
    assert.deepEqual(await list(owner), { events: [], nextCursor: null });
    const event = await createAt(owner, 9);
    assertError(reply(await handler(restEvent('PUT', { id: event.id, body, headers: { ...form, 'If-Match': '"1"' }, authorizer }))), 415, 'unsupported_media_type');
    assert.deepEqual((await get(owner, event.id)).json, event);
  });

  it('maps proxy events to the same ApiRequest', () => {
    const authorizer = { sub: 'usr_1', tokenUse: 'user' };
    const fromRest = parseApiEvent(restEvent('PUT', { id: SOME_ID, headers: { 'IF-MATCH': '"3"' }, body: '{"a":1}', base64: true, query: { limit: '2' }, authorizer }));
    const fromHttp = parseApiEvent(httpApiEvent('put', { id: SOME_ID, headers: { 'if-match': '"3"' }, body: '{"a":1}', query: { limit: '2' }, authorizer: { lambda: authorizer } }));
    assert.equal(fromRest.path, `/dev/calendar/v1/events/${SOME_ID}`);
    assert.equal(fromHttp.path, `/calendar/v1/events/${SOME_ID}`);
    for (const parsed of [fromRest, fromHttp]) {
      assert.equal(parsed.method, 'PUT');
      assert.deepEqual(parsed.pathParameters, { id: SOME_ID });
      assert.deepEqual(parsed.query, { limit: '2' });
      assert.equal(parsed.headers['if-match'], '"3"');
      assert.equal(parsed.body, '{"a":1}');
      assert.deepEqual(parsed.authorizer, authorizer);
    }
    const bare = parseApiEvent(httpApiEvent('GET', { authorizer: undefined }));
    assert.deepEqual([bare.pathParameters, bare.query, bare.body, bare.authorizer], [{}, {}, undefined, {}]);
    const bareRest = parseApiEvent(restEvent('GET', { authorizer: null }));
    assert.deepEqual([bareRest.pathParameters, bareRest.query, bareRest.body, bareRest.authorizer], [{}, {}, undefined, {}]);
  });

  it('answers 401 when the authorizer context is missing or not where the payload version puts it, and 403 to client tokens', async () => {
    const owner = newOwner();
    // HTTP API context not nested under `lambda` is not trusted as one.
    assertError(reply(await handler(httpApiEvent('GET', { authorizer: { sub: owner, iss: ISSUER, tokenUse: 'user' } }))), 401, 'unauthorized');
    assertError(reply(await handler(httpApiEvent('GET', { authorizer: undefined }))), 401, 'unauthorized');
    assertError(reply(await handler(restEvent('GET', { authorizer: null }))), 401, 'unauthorized');
    assertError(reply(await handler(restEvent('POST', { body: JSON.stringify(VALID_BODY), authorizer: { principalId: 'app', sub: 'app', iss: ISSUER, tokenUse: 'client' } }))), 403, 'forbidden');
    assertError(reply(await handler(httpApiEvent('POST', { body: JSON.stringify(VALID_BODY), authorizer: { lambda: { sub: 'app', iss: ISSUER, tokenUse: 'client' } } }))), 403, 'forbidden');
    assert.deepEqual(await list('app'), { events: [], nextCursor: null });
  });
});
