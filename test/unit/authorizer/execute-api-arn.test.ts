import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseExecuteApiArn, resourcePattern, routeResource } from '../../../lib/authorizer/execute-api-arn.js';
import { AuthError } from '../../../lib/errors.js';

const PREFIX = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod';
const refused = (error: unknown) => error instanceof AuthError && error.code === 'event_invalid';

describe('parseExecuteApiArn', () => {
  it('splits a methodArn into the stage prefix, the method and the concrete path', () => {
    assert.deepEqual(parseExecuteApiArn(`${PREFIX}/GET/calendar/v1/events/e1`), { stagePrefix: PREFIX, method: 'GET', path: '/calendar/v1/events/e1' });
    assert.deepEqual(parseExecuteApiArn(`${PREFIX}/DELETE`), { stagePrefix: PREFIX, method: 'DELETE', path: '/' });
    assert.deepEqual(parseExecuteApiArn(`${PREFIX}/GET/`), { stagePrefix: PREFIX, method: 'GET', path: '/' });
    // Every partition, stage names API Gateway allows, and serverless offline's placeholders.
    assert.equal(parseExecuteApiArn('arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:abc/v1_2-x/POST/a').stagePrefix, 'arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:abc/v1_2-x');
    assert.equal(parseExecuteApiArn('arn:aws:execute-api:us-east-1:random-account-id:random-api-id/$default/GET/a').stagePrefix, 'arn:aws:execute-api:us-east-1:random-account-id:random-api-id/$default');
    assert.equal(parseExecuteApiArn(`arn:aws:execute-api:us-east-1:1:abc/${'s'.repeat(128)}/GET/a`).method, 'GET');
  });

  it('refuses an ARN with anything before it or after the method: no prefix or suffix is ignored', () => {
    for (const arn of [
      // Junk before the ARN, or a second ARN after junk (a header value pasted into a test event).
      `junk ${PREFIX}/GET/calendar/v1/events`,
      `x${PREFIX}/GET/calendar/v1/events`,
      `\n${PREFIX}/GET/calendar/v1/events`,
      // A method with a suffix: "GETx" is no method, and must not be read as GET on "/".
      `${PREFIX}/GETx`,
      `${PREFIX}/GET x/calendar`,
      `${PREFIX}/get/calendar/v1/events`,
      `${PREFIX}/GET?/calendar/v1/events`,
      // Nothing after the stage, or an empty method.
      PREFIX,
      `${PREFIX}/`,
      `${PREFIX}//calendar`,
    ]) {
      assert.throws(() => parseExecuteApiArn(arn), refused, JSON.stringify(arn));
    }
  });

  it('refuses stages and identifiers that would put IAM wildcards, or other ARN parts, in the policy', () => {
    for (const arn of [
      'arn:aws:execute-api:eu-west-1:123456789012:abc123/*/GET/a',
      'arn:aws:execute-api:eu-west-1:123456789012:abc123/pr?d/GET/a',
      'arn:aws:execute-api:eu-west-1:123456789012:abc123/$other/GET/a',
      'arn:aws:execute-api:eu-west-1:123456789012:abc123/pr.d/GET/a',
      `arn:aws:execute-api:eu-west-1:123456789012:abc123/${'s'.repeat(129)}/GET/a`,
      'arn:aws:execute-api:eu-west-1:123456789012:a*c/prod/GET/a',
      'arn:aws:execute-api:eu-west-1:12345678901*:abc/prod/GET/a',
      'arn:aws:execute-api:eu-west-*:123456789012:abc/prod/GET/a',
      'arn:aws:execute-api:EU-WEST-1:123456789012:abc/prod/GET/a',
      'arn:aws:lambda:eu-west-1:123456789012:abc/prod/GET/a',
      'arn:azure:execute-api:eu-west-1:123456789012:abc/prod/GET/a',
      'arn:aws:execute-api::123456789012:abc/prod/GET/a',
      'arn:aws:execute-api:eu-west-1::abc/prod/GET/a',
      'arn:aws:execute-api:eu-west-1:123456789012:/prod/GET/a',
      'arn:aws:execute-api:eu-west-1:123456789012:abc//GET/a',
      '',
    ]) {
      assert.throws(() => parseExecuteApiArn(arn), refused, arn);
    }
  });
});

describe('resourcePattern and routeResource', () => {
  it('turns each {parameter}, greedy or not, into one IAM wildcard and keeps literals', () => {
    assert.equal(resourcePattern('GET', '/calendar/v1/events/{id}'), 'GET/calendar/v1/events/*');
    assert.equal(resourcePattern('PUT', '/a/{x}/b/{y}'), 'PUT/a/*/b/*');
    assert.equal(resourcePattern('GET', '/files/{path+}'), 'GET/files/*');
    assert.equal(resourcePattern('GET', '/'), 'GET/');
    assert.equal(resourcePattern('POST', '/calendar/v1/events'), 'POST/calendar/v1/events');
    assert.equal(routeResource(PREFIX, 'GET', '/calendar/v1/events/{id}'), `${PREFIX}/GET/calendar/v1/events/*`);
  });
});

describe('parseExecuteApiArn: the refusal', () => {
  it('says the event has no valid execute-api ARN, so that an operator looks at the event, not the token', () => {
    assert.throws(() => parseExecuteApiArn(`junk ${PREFIX}/GET/a`), (error: unknown) => error instanceof AuthError && error.code === 'event_invalid'
      && error.message === 'the event has no valid execute-api ARN');
  });
});
