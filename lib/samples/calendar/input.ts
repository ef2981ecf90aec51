/**
 * Validation of calendar requests. Pure: every problem is collected and named, so a client sees
 * all of them at once.
 */

export interface EventInput {
  title: string;
  /** UTC, ISO 8601 with milliseconds (`toISOString()`), so that strings sort in time order. */
  start: string;
  end: string;
  description: string | undefined;
}

export interface ListQuery {
  from: string | undefined;
  to: string | undefined;
  limit: number;
  cursor: string | undefined;
}

export interface Problem {
  field: string;
  problem: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; status: 400 | 413; error: string; message: string; details: Problem[] };

export const LIMITS = {
  bodyBytes: 16 * 1024,
  titleLength: 200,
  descriptionLength: 2000,
  defaultPageSize: 25,
  maxPageSize: 100,
} as const;

const EVENT_FIELDS = new Set(['title', 'start', 'end', 'description']);
const LIST_FIELDS = new Set(['from', 'to', 'limit', 'cursor']);
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):(\d{2}))$/;

/** An ISO 8601 date-time with an explicit offset, normalised to UTC; undefined if invalid. */
export function parseDateTime(value: string): string | undefined {
  const match = DATE_TIME.exec(value);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second = '0'] = match.slice(1, 7).map((part) => Number(part ?? 0)) as number[];
  const offsetHours = match[8] === undefined ? 0 : Number(match[8]);
  const offsetMinutes = match[9] === undefined ? 0 : Number(match[9]);
  // Date.parse would roll 30 February over into March; check the calendar ourselves
  // (setUTCFullYear, because Date.UTC reads years 0 to 99 as 1900 to 1999).
  const lastDay = new Date(0);
  lastDay.setUTCFullYear(year!, month!, 0);
  const daysInMonth = lastDay.getUTCDate();
  if (month! < 1 || month! > 12 || day! < 1 || day! > daysInMonth) return undefined;
  if (hour! > 23 || minute! > 59 || Number(second) > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const time = Date.parse(value);
  if (Number.isNaN(time)) return undefined;
  const utc = new Date(time).toISOString();
  // An offset can push a date past year 9999 or before year 0, where toISOString() writes
  // six-digit years that no longer sort in time order.
  return /^\d{4}-/.test(utc) ? utc : undefined;
}

function invalid<T>(details: Problem[]): Parsed<T> {
  return { ok: false, status: 400, error: 'invalid_request', message: details.map((detail) => `${detail.field}: ${detail.problem}`).join('; '), details };
}

/** Parses the JSON body of a create or replace request. */
export function parseEventInput(body: string | undefined): Parsed<EventInput> {
  if (body === undefined || body.trim() === '') return invalid([{ field: 'body', problem: 'is required: a JSON object with title, start and end' }]);
  if (Buffer.byteLength(body, 'utf8') > LIMITS.bodyBytes) {
    return { ok: false, status: 413, error: 'payload_too_large', message: `the body exceeds ${LIMITS.bodyBytes} bytes`, details: [{ field: 'body', problem: `exceeds ${LIMITS.bodyBytes} bytes` }] };
  }
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    return invalid([{ field: 'body', problem: 'is not valid JSON' }]);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return invalid([{ field: 'body', problem: 'must be a JSON object' }]);
  }
  const fields = document as Record<string, unknown>;
  const problems: Problem[] = [];
  for (const name of Object.keys(fields)) {
    if (!EVENT_FIELDS.has(name)) problems.push({ field: name, problem: 'is not a known field (title, start, end, description)' });
  }
  const { title, start, end, description } = fields;
  if (typeof title !== 'string' || title.trim() === '') problems.push({ field: 'title', problem: 'is required and must be a non-empty string' });
  else if (title.trim().length > LIMITS.titleLength) problems.push({ field: 'title', problem: `must be at most ${LIMITS.titleLength} characters` });
  if (description !== undefined && typeof description !== 'string') problems.push({ field: 'description', problem: 'must be a string' });
  else if (typeof description === 'string' && description.length > LIMITS.descriptionLength) problems.push({ field: 'description', problem: `must be at most ${LIMITS.descriptionLength} characters` });
  const startTime = typeof start === 'string' ? parseDateTime(start) : undefined;
  const endTime = typeof end === 'string' ? parseDateTime(end) : undefined;
  if (startTime === undefined) problems.push({ field: 'start', problem: 'is required and must be an ISO 8601 date-time with an offset, e.g. 2026-05-01T09:00:00Z' });
  if (endTime === undefined) problems.push({ field: 'end', problem: 'is required and must be an ISO 8601 date-time with an offset, e.g. 2026-05-01T10:00:00Z' });
  if (startTime !== undefined && endTime !== undefined && endTime <= startTime) problems.push({ field: 'end', problem: 'must be after start' });
  if (problems.length > 0) return invalid(problems);
  return { ok: true, value: { title: (title as string).trim(), start: startTime!, end: endTime!, description: description as string | undefined } };
}

/** Parses the query of a list request: an optional start-time window, page size and cursor. */
export function parseListQuery(query: Record<string, string | undefined>): Parsed<ListQuery> {
  const problems: Problem[] = [];
  for (const name of Object.keys(query)) {
    if (!LIST_FIELDS.has(name)) problems.push({ field: name, problem: 'is not a known parameter (from, to, limit, cursor)' });
  }
  const from = query['from'] === undefined ? undefined : parseDateTime(query['from']);
  const to = query['to'] === undefined ? undefined : parseDateTime(query['to']);
  if (query['from'] !== undefined && from === undefined) problems.push({ field: 'from', problem: 'must be an ISO 8601 date-time with an offset' });
  if (query['to'] !== undefined && to === undefined) problems.push({ field: 'to', problem: 'must be an ISO 8601 date-time with an offset' });
  if (from !== undefined && to !== undefined && to <= from) problems.push({ field: 'to', problem: 'must be after from' });
  let limit: number = LIMITS.defaultPageSize;
  if (query['limit'] !== undefined) {
    limit = /^\d{1,3}$/.test(query['limit']) ? Number(query['limit']) : NaN;
    if (!(limit >= 1 && limit <= LIMITS.maxPageSize)) problems.push({ field: 'limit', problem: `must be a whole number from 1 to ${LIMITS.maxPageSize}` });
  }
  const cursor = query['cursor'];
  if (cursor !== undefined && !/^[A-Za-z0-9_-]{1,1024}$/.test(cursor)) problems.push({ field: 'cursor', problem: 'is not a cursor returned by this API' });
  if (problems.length > 0) return invalid(problems);
  return { ok: true, value: { from, to, limit, cursor } };
}
