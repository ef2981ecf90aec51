/**
 * normalizeEvent against events that are not quite what API Gateway sends: a test console's,
 * a hand-written one, or one whose headers hold what a client can put in them.
 * (test/unit/authorizer/events.test.ts has the three real shapes and the duplicate headers.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeEvent } from '../../../lib/authorizer/events.js';
import { AuthError, type ReasonCode } from '../../../lib/errors.js';
import { arnFor } from '../../helpers/policy.js';

const ARN = arnFor('GET', '/calendar/v1/events');
const refusedWith = (code: ReasonCode, message: RegExp) => (error: unknown) => error instanceof AuthError && error.code === code && message.test(error.message);

describe('normalizeEvent: what is not an authorizer event', () => {
  it('refuses a value that is no object', () => {
    for (const event of [null, undefined, 'Bearer a.b.c', 42, true]) {
      assert.throws(() => normalizeEvent(event), refusedWith('event_invalid', /the event is not an object/), String(event));
    }
  });

  it('refuses an event with neither a string methodArn nor a payload 2.0 routeArn', () => {
    for (const event of [{}, { type: 'TOKEN', authorizationToken: 'Bearer a' }, { type: 'REQUEST', methodArn: 42 }, { version: '1.0', routeArn: ARN, headers: {} }, { version: '2.0', routeArn: ['x'] }]) {
      assert.throws(() => normalizeEvent(event), refusedWith('event_invalid', /neither methodArn nor routeArn/), JSON.stringify(event));
    }
  });

  it('refuses a methodArn event of an unknown type, naming the type', () => {
    assert.throws(() => normalizeEvent({ type: 'token', methodArn: ARN, authorizationToken: 'Bearer a' }), refusedWith('event_invalid', /unknown authorizer event type "token"/));
    assert.throws(() => normalizeEvent({ methodArn: ARN }), refusedWith('event_invalid', /unknown authorizer event type "undefined"/));
  });

  it('reads a payload 2.0 event only by its version and a string routeArn; anything else is read as REST', () => {
    assert.deepEqual(normalizeEvent({ version: '2.0', routeArn: ARN, headers: null }), { api: 'http', authorization: undefined, arn: ARN });
    assert.deepEqual(normalizeEvent({ version: '2.0', routeArn: ARN }), { api: 'http', authorization: undefined, arn: ARN });
    // A v2 version without a routeArn, next to a REST event's fields, is the REST event.
    assert.deepEqual(normalizeEvent({ version: '2.0', type: 'REQUEST', methodArn: ARN, headers: { Authorization: 'Bearer a' } }), { api: 'rest', authorization: 'Bearer a', arn: ARN });
  });
});

describe('normalizeEvent: headers', () => {
  it('other headers of Authorization\'s length are other headers', () => {
    // Cache-Control and If-None-Match are as long as "Authorization" (13 characters).
    const headers = { 'Cache-Control': 'no-cache', 'If-None-Match': '"etag"', Authorization: 'Bearer a' };
    assert.equal(normalizeEvent({ type: 'REQUEST', methodArn: ARN, headers }).authorization, 'Bearer a');
    assert.equal(normalizeEvent({ version: '2.0', routeArn: ARN, headers: { 'cache-control': 'no-cache', authorization: 'Bearer a' } }).authorization, 'Bearer a');
    assert.equal(normalizeEvent({ type: 'REQUEST', methodArn: ARN, headers: { 'Cache-Control': 'no-cache' } }).authorization, undefined);
    assert.equal(normalizeEvent({
      type: 'REQUEST', methodArn: ARN, headers, multiValueHeaders: { 'Cache-Control': ['no-cache', 'no-store'], Authorization: ['Bearer a'] },
    }).authorization, 'Bearer a');
  });

  it('a REST event without header maps has no Authorization, and the one in multiValueHeaders must be the one in headers', () => {
    assert.equal(normalizeEvent({ type: 'REQUEST', methodArn: ARN, headers: null, multiValueHeaders: null }).authorization, undefined);
    assert.equal(normalizeEvent({ type: 'REQUEST', methodArn: ARN }).authorization, undefined);
    assert.equal(normalizeEvent({ type: 'REQUEST', methodArn: ARN, headers: {}, multiValueHeaders: {} }).authorization, undefined);
    assert.throws(() => normalizeEvent({ type: 'REQUEST', methodArn: ARN, headers: null, multiValueHeaders: { Authorization: ['Bearer a'] } }),
      refusedWith('scheme_invalid', /headers and multiValueHeaders disagree/));
  });

  it('a hand-written multiValueHeaders with a string instead of a list is one value', () => {
    assert.equal(normalizeEvent({ type: 'REQUEST', methodArn: ARN, headers: { Authorization: 'Bearer a' }, multiValueHeaders: { Authorization: 'Bearer a' } }).authorization, 'Bearer a');
    assert.throws(() => normalizeEvent({ type: 'REQUEST', methodArn: ARN, headers: { Authorization: 'Bearer a' }, multiValueHeaders: { Authorization: 'Bearer b' } }),
      refusedWith('scheme_invalid', /disagree/));
  });

  it('says what made the header ambiguous', () => {
    assert.throws(() => normalizeEvent({ type: 'REQUEST', methodArn: ARN, headers: { Authorization: 'Bearer a', AUTHORIZATION: 'Bearer a', authorization: 'Bearer a' } }),
      refusedWith('scheme_invalid', /^3 Authorization headers \(names differing only in case\)$/));
    assert.throws(() => normalizeEvent({ type: 'REQUEST', methodArn: ARN, headers: { Authorization: 'Bearer a' }, multiValueHeaders: { Authorization: ['Bearer a'], AUTHORIZATION: ['Bearer a'] } }),
      refusedWith('scheme_invalid', /^more than one Authorization header$/));
    // The TOKEN event has one value by construction; it is passed on as it is, whatever it is.
    assert.deepEqual(normalizeEvent({ type: 'TOKEN', methodArn: ARN, authorizationToken: 42 }), { api: 'rest', authorization: 42, arn: ARN });
  });
});
