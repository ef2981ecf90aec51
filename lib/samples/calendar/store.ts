import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { EventInput } from './input.js';

/** A calendar event as stored and returned. `owner` never leaves the store. */
export interface CalendarEvent {
  id: string;
  title: string;
  start: string;
  end: string;
  description?: string;
  createdAt: string;
  updatedAt: string;
  /** Increments on every write; the ETag clients send back in If-Match. */
  version: number;
}

export interface EventPage {
  events: CalendarEvent[];
  nextCursor: string | null;
}

export class EventNotFoundError extends Error {
  constructor() {
    super('no such event');
    this.name = 'EventNotFoundError';
  }
}

export class VersionConflictError extends Error {
  readonly currentVersion: number;
  constructor(currentVersion: number) {
    super('the event was changed by someone else');
    this.name = 'VersionConflictError';
    this.currentVersion = currentVersion;
  }
}

export class InvalidCursorError extends Error {
  constructor() {
    super('the cursor was not issued for this caller and query');
    this.name = 'InvalidCursorError';
  }
}

/** What the calendar API needs from storage; every call is scoped to one owner. */
export interface EventStore {
  list(owner: string, query: { from?: string | undefined; to?: string | undefined; limit: number; cursor?: string | undefined }): Promise<EventPage>;
  get(owner: string, id: string): Promise<CalendarEvent>;
  create(owner: string, input: EventInput): Promise<CalendarEvent>;
  /** Replaces the event if its version is still `expectedVersion`. */
  replace(owner: string, id: string, input: EventInput, expectedVersion: number): Promise<CalendarEvent>;
  remove(owner: string, id: string, expectedVersion: number | undefined): Promise<void>;
}

const START_INDEX = 'byStart';

interface StoredEvent extends CalendarEvent {
  owner: string;
  /** `<start>#<id>`: the sort key of the start-time index, unique per owner. */
  startKey: string;
}

function toEvent(item: Record<string, unknown>): CalendarEvent {
  const { owner: _owner, startKey: _startKey, ...event } = item as unknown as StoredEvent;
  return event;
}

function encodeCursor(key: Record<string, unknown> | undefined): string | null {
  return key === undefined ? null : Buffer.from(JSON.stringify(key)).toString('base64url');
}

const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const START_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#(.+)$/;

/**
 * A cursor names a position in one owner's partition within one time window; anything else is
 * refused, so a cursor can neither read across partitions nor make DynamoDB reject the query.
 */
function decodeCursor(cursor: string, owner: string, from: string | undefined, to: string | undefined): Record<string, string> {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw new InvalidCursorError();
  const fields = key as Record<string, unknown>;
  const { id, startKey } = fields;
  if (fields['owner'] !== owner || Object.keys(fields).length !== 3) throw new InvalidCursorError();
  if (typeof id !== 'string' || !EVENT_ID.test(id) || typeof startKey !== 'string') throw new InvalidCursorError();
  if (START_KEY.exec(startKey)?.[1] !== id) throw new InvalidCursorError();
  if ((from !== undefined && startKey < from) || (to !== undefined && startKey >= to)) throw new InvalidCursorError();
  return { owner, id, startKey };
}

export interface DynamoEventStoreOptions {
  tableName: string;
  /** A local endpoint (dynalite); unset on AWS. */
  endpoint?: string | undefined;
  region?: string | undefined;
}

/**
 * Events in one DynamoDB table keyed by (owner, id): the owner (the API's key for the verified
 * issuer and `sub`) is in every key, so no query can reach another user's events. A local
 * secondary index on `startKey` serves the list.
 */
export class DynamoEventStore implements EventStore {
  private readonly documents: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor({ tableName, endpoint, region }: DynamoEventStoreOptions) {
    this.tableName = tableName;
    const client = new DynamoDBClient({
      region: region ?? process.env['AWS_REGION'] ?? 'us-east-1',
      // Bounded: a database outage must become a quick 503, not a hung request.
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 1000, requestTimeout: 3000 },
      ...(endpoint ? { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    });
    this.documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async list(owner: string, query: { from?: string | undefined; to?: string | undefined; limit: number; cursor?: string | undefined }): Promise<EventPage> {
    const values: Record<string, string> = { ':owner': owner };
    let condition = '#owner = :owner';
    // startKey is `<start>#<id>`, so `<to>#…` sorts after `<to>`: the window is [from, to).
    if (query.from !== undefined && query.to !== undefined) {
      condition += ' AND startKey BETWEEN :from AND :to';
      values[':from'] = query.from;
      values[':to'] = query.to;
    } else if (query.from !== undefined) {
      condition += ' AND startKey >= :from';
      values[':from'] = query.from;
    } else if (query.to !== undefined) {
      condition += ' AND startKey < :to';
      values[':to'] = query.to;
    }
    const result = await this.documents.send(new QueryCommand({
      TableName: this.tableName,
      IndexName: START_INDEX,
      KeyConditionExpression: condition,
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: values,
      Limit: query.limit,
      ExclusiveStartKey: query.cursor === undefined ? undefined : decodeCursor(query.cursor, owner, query.from, query.to),
    }));
    return { events: (result.Items ?? []).map(toEvent), nextCursor: encodeCursor(result.LastEvaluatedKey) };
  }

  async get(owner: string, id: string): Promise<CalendarEvent> {
    const result = await this.documents.send(new GetCommand({ TableName: this.tableName, Key: { owner, id }, ConsistentRead: true }));
    if (result.Item === undefined) throw new EventNotFoundError();
    return toEvent(result.Item);
  }

  async create(owner: string, input: EventInput): Promise<CalendarEvent> {
    const now = new Date().toISOString();
    const id = randomUUID();
    const item: StoredEvent = { owner, id, ...this.fields(input), startKey: `${input.start}#${id}`, createdAt: now, updatedAt: now, version: 1 };
    await this.documents.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(id)' }));
    return toEvent(item as unknown as Record<string, unknown>);
  }

  async replace(owner: string, id: string, input: EventInput, expectedVersion: number): Promise<CalendarEvent> {
    const current = await this.get(owner, id);
    if (current.version !== expectedVersion) throw new VersionConflictError(current.version);
    const item: StoredEvent = {
      owner, id, ...this.fields(input), startKey: `${input.start}#${id}`,
      createdAt: current.createdAt, updatedAt: new Date().toISOString(), version: expectedVersion + 1,
    };
    try {
      // The condition makes read-check-write atomic: a concurrent writer that got in between
      // the read and this write has bumped the version, and this write fails.
      await this.documents.send(new PutCommand({
        TableName: this.tableName, Item: item,
        ConditionExpression: 'attribute_exists(id) AND version = :expected',
        ExpressionAttributeValues: { ':expected': expectedVersion },
      }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw await this.conflictOrGone(owner, id);
      throw error;
    }
    return toEvent(item as unknown as Record<string, unknown>);
  }

  async remove(owner: string, id: string, expectedVersion: number | undefined): Promise<void> {
    try {
      await this.documents.send(new DeleteCommand({
        TableName: this.tableName, Key: { owner, id },
        ConditionExpression: expectedVersion === undefined ? 'attribute_exists(id)' : 'attribute_exists(id) AND version = :expected',
        ExpressionAttributeValues: expectedVersion === undefined ? undefined : { ':expected': expectedVersion },
      }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw await this.conflictOrGone(owner, id);
      throw error;
    }
  }

  private fields(input: EventInput): Pick<CalendarEvent, 'title' | 'start' | 'end' | 'description'> {
    return input.description === undefined
      ? { title: input.title, start: input.start, end: input.end }
      : { title: input.title, start: input.start, end: input.end, description: input.description };
  }

  private async conflictOrGone(owner: string, id: string): Promise<Error> {
    try {
      return new VersionConflictError((await this.get(owner, id)).version);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }
}
