import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LIMITS, type Parsed, parseDateTime, parseEventInput, parseListQuery, type Problem } from '../../../../lib/samples/calendar/input.js';

const START = '2026-05-01T09:00:00Z';
const END = '2026-05-01T10:00:00Z';

function body(fields: Record<string, unknown>): string {
  return JSON.stringify(fields);
}

/** The rejection of a parse that must fail; fails the test if it succeeded. */
function rejection<T>(parsed: Parsed<T>): Exclude<Parsed<T>, { ok: true }> {
  if (parsed.ok) assert.fail(`expected a rejection, got ${JSON.stringify(parsed.value)}`);
  return parsed;
}

function fieldsOf(details: Problem[]): string[] {
  return details.map((detail) => detail.field);
}

/** A 400 invalid_request whose details name exactly these fields, in order; the message names them too. */
function assertInvalid<T>(parsed: Parsed<T>, fields: string[]): void {
  const rejected = rejection(parsed);
  assert.equal(rejected.status, 400);
  assert.equal(rejected.error, 'invalid_request');
  assert.deepEqual(fieldsOf(rejected.details), fields);
  for (const detail of rejected.details) {
    assert.equal(typeof detail.problem, 'string');
    assert.ok(detail.problem.length > 0);
  }
  assert.equal(rejected.message, rejected.details.map((detail) => `${detail.field}: ${detail.problem}`).join('; '));
}

describe('parseDateTime', () => {
  it('normalises valid date-times with Z or an offset to UTC toISOString form', () => {
    const cases: [string, string][] = [
      ['2026-05-01T09:00:00Z', '2026-05-01T09:00:00.000Z'],
      ['2026-05-01T09:00Z', '2026-05-01T09:00:00.000Z'],
      ['2026-05-01T09:00:00.5Z', '2026-05-01T09:00:00.500Z'],
      ['2026-05-01T09:00:00.123456789Z', '2026-05-01T09:00:00.123Z'],
      ['2026-05-01T11:00:00+02:00', '2026-05-01T09:00:00.000Z'],
      ['2026-05-01T04:00:00-05:00', '2026-05-01T09:00:00.000Z'],
      ['2026-05-01T14:45:00+05:45', '2026-05-01T09:00:00.000Z'],
      ['2026-05-01T09:00:00+00:00', '2026-05-01T09:00:00.000Z'],
      ['2026-05-01T09:00:00-00:00', '2026-05-01T09:00:00.000Z'],
      // An offset can move the instant into another day, month and year.
      ['2026-01-01T01:00:00+02:00', '2025-12-31T23:00:00.000Z'],
      ['2025-12-31T23:30:00-01:00', '2026-01-01T00:30:00.000Z'],
      ['2028-02-29T12:00:00Z', '2028-02-29T12:00:00.000Z'],
      ['2000-02-29T12:00:00Z', '2000-02-29T12:00:00.000Z'],
      ['2026-12-31T23:59:59Z', '2026-12-31T23:59:59.000Z'],
      ['2026-04-30T00:00:00Z', '2026-04-30T00:00:00.000Z'],
    ];
    for (const [input, expected] of cases) assert.equal(parseDateTime(input), expected, input);
  });

  it('yields strings whose order is time order, whatever offsets the inputs used', () => {
    const inputs = ['2026-05-01T10:30:00+02:00', '2026-05-01T07:30:00Z', '2026-05-01T03:00:00-05:00', '2026-05-01T08:59:59.999Z', '2026-05-01T09:00:00+00:00'];
    const normalised = inputs.map((input) => parseDateTime(input) ?? assert.fail(input));
    const byString = [...normalised].sort();
    assert.deepEqual(byString, [...normalised].sort((a, b) => Date.parse(a) - Date.parse(b)));
    assert.deepEqual(byString, ['2026-05-01T07:30:00.000Z', '2026-05-01T08:00:00.000Z', '2026-05-01T08:30:00.000Z', '2026-05-01T08:59:59.999Z', '2026-05-01T09:00:00.000Z']);
  });

  it('rejects dates that do not exist instead of rolling them over', () => {
    for (const input of [
      '2026-02-30T09:00:00Z', '2026-02-29T09:00:00Z', '2100-02-29T09:00:00Z', '2026-04-31T09:00:00Z', '2026-06-31T09:00:00Z',
      '2026-01-32T09:00:00Z', '2026-05-00T09:00:00Z',
    ]) {
      assert.equal(parseDateTime(input), undefined, input);
    }
  });

  it('rejects out-of-range months, hours, minutes, seconds and offsets', () => {
    for (const input of [
      '2026-13-01T09:00:00Z', '2026-00-01T09:00:00Z', '2026-05-01T24:00:00Z', '2026-05-01T23:60:00Z', '2026-05-01T23:59:60Z',
      '2026-05-01T09:00:00+24:00', '2026-05-01T09:00:00+05:60', '2026-05-01T09:00:00-99:00',
    ]) {
      assert.equal(parseDateTime(input), undefined, input);
    }
  });

  it('rejects a date-time without an offset, a date alone, other layouts and garbage', () => {
    for (const input of [
      '2026-05-01T09:00:00', '2026-05-01T09:00:00.000', '2026-05-01', '2026-05', '09:00:00Z',
      '2026-05-01 09:00:00Z', '2026-05-01t09:00:00z', '2026-05-01T09:00:00+0200', '2026-05-01T09:00:00+02', '2026-5-1T9:00:00Z',
      ' 2026-05-01T09:00:00Z', '2026-05-01T09:00:00Z ', '2026-05-01T09:00:00Z\n', '+002026-05-01T09:00:00Z', '20260501T090000Z',
      '2026-05-01T09:00:00.Z', '2026-05-01T09:00:00.1234567890Z', 'Fri, 01 May 2026 09:00:00 GMT', '1777626000000', 'tomorrow', '', 'Z',
    ]) {
      assert.equal(parseDateTime(input), undefined, JSON.stringify(input));
    }
  });

  it('only ever yields four-digit-year UTC strings, so that stored strings keep sorting in time order', () => {
    const shape = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
    for (const input of ['9999-12-31T23:00:00-05:00', '0000-01-01T00:30:00+01:00']) {
      const parsed = parseDateTime(input);
      assert.ok(parsed === undefined || shape.test(parsed), `${input} → ${parsed}`);
    }
  });
});

describe('parseEventInput', () => {
  it('accepts a valid event, trims the title, normalises the times and keeps the description', () => {
    const parsed = parseEventInput(body({ title: '  Stand-up \t', start: '2026-05-01T11:00:00+02:00', end: '2026-05-01T09:15:00Z', description: '  daily  ' }));
    assert.deepEqual(parsed, {
      ok: true,
      value: { title: 'Stand-up', start: '2026-05-01T09:00:00.000Z', end: '2026-05-01T09:15:00.000Z', description: '  daily  ' },
    });
  });

  it('leaves the description undefined when it is absent, and accepts an empty description', () => {
    assert.deepEqual(parseEventInput(body({ title: 'x', start: START, end: END })), {
      ok: true, value: { title: 'x', start: '2026-05-01T09:00:00.000Z', end: '2026-05-01T10:00:00.000Z', description: undefined },
    });
    const empty = parseEventInput(body({ title: 'x', start: START, end: END, description: '' }));
    assert.ok(empty.ok);
    assert.equal(empty.value.description, '');
  });

  it('requires a body', () => {
    for (const missing of [undefined, '', '   ', '\n\t']) assertInvalid(parseEventInput(missing), ['body']);
  });

  it('rejects a body that is not JSON', () => {
    for (const text of ['{', '{"title": "x",}', 'title=x', "{'title':'x'}", 'undefined']) {
      const rejected = rejection(parseEventInput(text));
      assertInvalid(rejected, ['body']);
      assert.match(rejected.details[0]!.problem, /JSON/);
    }
  });

  it('rejects JSON that is not an object', () => {
    for (const text of ['[]', '[{"title":"x"}]', '42', 'null', '"a string"', 'true']) {
      const rejected = rejection(parseEventInput(text));
      assertInvalid(rejected, ['body']);
      assert.match(rejected.details[0]!.problem, /object/, text);
    }
  });

  it('names every unknown field, including ones that would set server-owned attributes', () => {
    const rejected = rejection(parseEventInput(body({ title: 'x', start: START, end: END, colour: 'red', owner: 'usr_other', id: 'e1', version: 9 })));
    assertInvalid(rejected, ['colour', 'owner', 'id', 'version']);
  });

  it('requires a non-empty string title', () => {
    for (const title of [undefined, '', '   ', '\n\t ', 42, null, ['x'], { text: 'x' }]) {
      assertInvalid(parseEventInput(body({ title, start: START, end: END })), ['title']);
    }
  });

  it(`limits the title to ${LIMITS.titleLength} characters`, () => {
    assert.equal(LIMITS.titleLength, 200);
    const atLimit = parseEventInput(body({ title: 'é'.repeat(200), start: START, end: END }));
    assert.ok(atLimit.ok);
    assert.equal(atLimit.value.title, 'é'.repeat(200));
    const rejected = rejection(parseEventInput(body({ title: 'a'.repeat(201), start: START, end: END })));
    assertInvalid(rejected, ['title']);
    assert.match(rejected.details[0]!.problem, /200/);
  });

  it(`requires a string description of at most ${LIMITS.descriptionLength} characters`, () => {
    assert.equal(LIMITS.descriptionLength, 2000);
    for (const description of [42, null, true, ['x'], { text: 'x' }]) {
      const rejected = rejection(parseEventInput(body({ title: 'x', start: START, end: END, description })));
      assertInvalid(rejected, ['description']);
      assert.match(rejected.details[0]!.problem, /string/);
    }
    assert.ok(parseEventInput(body({ title: 'x', start: START, end: END, description: 'd'.repeat(2000) })).ok);
    const rejected = rejection(parseEventInput(body({ title: 'x', start: START, end: END, description: 'd'.repeat(2001) })));
    assertInvalid(rejected, ['description']);
    assert.match(rejected.details[0]!.problem, /2000/);
  });

  it('requires start and end as date-times with an offset', () => {
    for (const value of [undefined, '', '2026-05-01', '2026-05-01T09:00:00', '2026-02-30T09:00:00Z', 1777626000000, null]) {
      assertInvalid(parseEventInput(body({ title: 'x', start: value, end: END })), ['start']);
      assertInvalid(parseEventInput(body({ title: 'x', start: START, end: value })), ['end']);
    }
    assertInvalid(parseEventInput(body({ title: 'x' })), ['start', 'end']);
  });

  it('requires end after start, comparing instants rather than the texts', () => {
    for (const end of [START, '2026-05-01T11:00:00+02:00', '2026-05-01T08:59:59.999Z', '2026-04-30T09:00:00Z']) {
      const rejected = rejection(parseEventInput(body({ title: 'x', start: START, end })));
      assertInvalid(rejected, ['end']);
      assert.match(rejected.details[0]!.problem, /after start/, end);
    }
    // Textually earlier, but later in time.
    assert.ok(parseEventInput(body({ title: 'x', start: '2026-05-01T10:00:00+02:00', end: '2026-05-01T08:00:01Z' })).ok);
    assert.ok(parseEventInput(body({ title: 'x', start: START, end: '2026-05-01T09:00:00.001Z' })).ok);
  });

  it('reports every problem of a body together', () => {
    const rejected = rejection(parseEventInput(body({ title: ' ', start: 'soon', end: '2026-05-01', description: 7, location: 'Room 1' })));
    assertInvalid(rejected, ['location', 'title', 'description', 'start', 'end']);
    const outOfOrder = rejection(parseEventInput(body({ title: 'a'.repeat(201), start: END, end: START, description: 'd'.repeat(2001) })));
    assertInvalid(outOfOrder, ['title', 'description', 'end']);
  });

  it(`refuses a body over ${LIMITS.bodyBytes} bytes with 413 payload_too_large, counting UTF-8 bytes`, () => {
    assert.equal(LIMITS.bodyBytes, 16 * 1024);
    const valid = body({ title: 'x', start: START, end: END });
    // JSON allows trailing whitespace: pad a valid body to exactly the limit, then one byte over.
    const atLimit = valid + ' '.repeat(16384 - Buffer.byteLength(valid));
    assert.equal(Buffer.byteLength(atLimit), 16384);
    assert.ok(parseEventInput(atLimit).ok);
    const over = atLimit + ' ';
    const rejected = rejection(parseEventInput(over));
    assert.equal(rejected.status, 413);
    assert.equal(rejected.error, 'payload_too_large');
    assert.deepEqual(fieldsOf(rejected.details), ['body']);
    // 8,193 characters but 16,386 bytes.
    const multiByte = `${valid.slice(0, -1)},"description":"${'é'.repeat(8193)}"}`;
    assert.ok(multiByte.length < 16384);
    assert.equal(rejection(parseEventInput(multiByte)).status, 413);
    // The size is checked before the body is parsed.
    assert.equal(rejection(parseEventInput('x'.repeat(20000))).status, 413);
  });
});

describe('parseListQuery', () => {
  it('defaults to no window, a page of 25 and no cursor', () => {
    assert.equal(LIMITS.defaultPageSize, 25);
    assert.deepEqual(parseListQuery({}), { ok: true, value: { from: undefined, to: undefined, limit: 25, cursor: undefined } });
  });

  it('normalises from and to, and accepts limit and cursor', () => {
    assert.deepEqual(parseListQuery({ from: '2026-05-01T11:00:00+02:00', to: '2026-05-02T00:00:00Z', limit: '7', cursor: 'eyJh-_Z9' }), {
      ok: true, value: { from: '2026-05-01T09:00:00.000Z', to: '2026-05-02T00:00:00.000Z', limit: 7, cursor: 'eyJh-_Z9' },
    });
    assert.deepEqual(parseListQuery({ from: START }), { ok: true, value: { from: '2026-05-01T09:00:00.000Z', to: undefined, limit: 25, cursor: undefined } });
    assert.deepEqual(parseListQuery({ to: END }), { ok: true, value: { from: undefined, to: '2026-05-01T10:00:00.000Z', limit: 25, cursor: undefined } });
  });

  it('rejects invalid from and to', () => {
    for (const value of ['', '2026-05-01', '2026-05-01T09:00:00', '2026-13-01T00:00:00Z', 'now']) {
      assertInvalid(parseListQuery({ from: value }), ['from']);
      assertInvalid(parseListQuery({ to: value }), ['to']);
    }
  });

  it('requires to after from, comparing instants', () => {
    assertInvalid(parseListQuery({ from: START, to: START }), ['to']);
    assertInvalid(parseListQuery({ from: START, to: '2026-05-01T11:00:00+02:00' }), ['to']);
    assertInvalid(parseListQuery({ from: END, to: START }), ['to']);
    assert.ok(parseListQuery({ from: START, to: '2026-05-01T09:00:00.001Z' }).ok);
  });

  it('accepts a whole-number limit from 1 to 100 only', () => {
    assert.equal(LIMITS.maxPageSize, 100);
    for (const [text, limit] of [['1', 1], ['100', 100], ['25', 25], ['007', 7]] as const) {
      const parsed = parseListQuery({ limit: text });
      assert.ok(parsed.ok, text);
      assert.equal(parsed.value.limit, limit);
    }
    for (const text of ['0', '101', '1000', 'abc', '1.5', '-1', '+5', '', ' 5', '1e2', '0x10', '5 ']) {
      assertInvalid(parseListQuery({ limit: text }), ['limit']);
    }
  });

  it('names unknown parameters', () => {
    assertInvalid(parseListQuery({ owner: 'usr_other' }), ['owner']);
    assertInvalid(parseListQuery({ start: START, pageSize: '5' }), ['start', 'pageSize']);
  });

  it('accepts only base64url cursors of 1 to 1024 characters', () => {
    assert.ok(parseListQuery({ cursor: 'A'.repeat(1024) }).ok);
    for (const cursor of ['', 'abc=', 'a+b', 'a/b', 'a b', 'a.b', 'ä', '%41', 'A'.repeat(1025)]) {
      assertInvalid(parseListQuery({ cursor }), ['cursor']);
    }
  });

  it('reports every problem of a query together', () => {
    assertInvalid(parseListQuery({ from: 'x', to: 'y', limit: '0', cursor: '!', sort: 'desc' }), ['sort', 'from', 'to', 'limit', 'cursor']);
    assertInvalid(parseListQuery({ from: END, to: START, limit: '101' }), ['to', 'limit']);
  });
});

describe('edge cases found in review', () => {
  it('measures the title after trimming, and knows year 0 was a leap year', () => {
    const padded = parseEventInput(JSON.stringify({ title: `  ${'a'.repeat(200)}  `, start: '2026-01-01T00:00:00Z', end: '2026-01-01T01:00:00Z' }));
    assert.ok(padded.ok && padded.value.title.length === 200);
    assert.equal(parseDateTime('0000-02-29T00:00:00Z'), '0000-02-29T00:00:00.000Z');
    assert.equal(parseDateTime('1900-02-29T00:00:00Z'), undefined);
  });
});
