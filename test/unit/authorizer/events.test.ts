import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeEvent } from '../../../lib/authorizer/events.js';
import { AuthError, type ReasonCode } from '../../../lib/errors.js';
import { arnFor } from '../../helpers/policy.js';

const ARN = arnFor('GET', '/calendar/v1/events');
const refusedWith = (code: ReasonCode) => (error: unknown) => error instanceof AuthError && error.code === code;
const rest = (headers: Record<string, unknown> | undefined, multiValueHeaders?: Record<string, unknown>) =>
  ({ type: 'REQUEST', methodArn: ARN, headers, ...(multiValueHeaders === undefined ? {} : { multiValueHeaders }) });

describe('normalizeEvent: one Authorization header, however it is spelt', () => {
  it('reads the three shapes', () => {
    assert.deepEqual(normalizeEvent({ type: 'TOKEN', authorizationToken: 'Bearer a', methodArn: ARN }), { api: 'rest', authorization: 'Bearer a', arn: ARN });
    assert.deepEqual(normalizeEvent(rest({ aUtHoRiZaTiOn: 'Bearer a' }, { aUtHoRiZaTiOn: ['Bearer a'] })), { api: 'rest', authorization: 'Bearer a', arn: ARN });
    assert.deepEqual(normalizeEvent({ version: '2.0', routeArn: ARN, headers: { authorization: 'Bearer a' } }), { api: 'http', authorization: 'Bearer a', arn: ARN });
  });

  it('refuses two keys differing only in case, in headers (REST and HTTP API) and in multiValueHeaders', () => {
    // What serverless offline builds from two raw Authorization headers.
    const twoKeys = { Authorization: 'Bearer valid', authorization: 'Bearer other' };
    assert.throws(() => normalizeEvent(rest(twoKeys)), refusedWith('scheme_invalid'));
    assert.throws(() => normalizeEvent(rest({ Authorization: 'Bearer valid' }, { Authorization: ['Bearer valid'], authorization: ['Bearer other'] })), refusedWith('scheme_invalid'));
    assert.throws(() => normalizeEvent({ version: '2.0', routeArn: ARN, headers: twoKeys }), refusedWith('scheme_invalid'));
  });

  it('refuses two values under one key, and maps that disagree', () => {
    assert.throws(() => normalizeEvent(rest({ Authorization: 'Bearer valid' }, { Authorization: ['Bearer valid', 'Bearer other'] })), refusedWith('scheme_invalid'));
    assert.throws(() => normalizeEvent(rest({ Authorization: 'Bearer valid' }, { Authorization: ['Bearer other'] })), refusedWith('scheme_invalid'));
    assert.throws(() => normalizeEvent(rest({}, { Authorization: ['Bearer valid'] })), refusedWith('scheme_invalid'));
  });

  it('keys that only look alike are other headers', () => {
    assert.deepEqual(normalizeEvent(rest({ Authorization: 'Bearer a', 'X-Authorization': 'Bearer b', authorizations: 'c' })).authorization, 'Bearer a');
  });
});
