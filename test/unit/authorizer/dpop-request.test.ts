/**
 * dpopRequestOf (lib/authorizer/dpop-request.ts): the one proof, the method and the request URL a
 * DPoP proof is checked against, from REST REQUEST and HTTP API v2 events; settings for custom
 * domains and base-path mappings.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dpopRequestOf, type DpopUrlSettings } from '../../../lib/authorizer/dpop-request.js';
import { parseExecuteApiArn } from '../../../lib/authorizer/execute-api-arn.js';
import { AuthError } from '../../../lib/errors.js';
import { arnFor } from '../../helpers/policy.js';

const DOMAIN = 'abc123.execute-api.eu-west-1.amazonaws.com';
const PROOF = 'eyJ0eXAiOiJkcG9wK2p3dCJ9.eyJqdGkiOiIxIn0.c2ln';
const OTHER = 'eyJ0eXAiOiJkcG9wK2p3dCJ9.eyJqdGkiOiIyIn0.c2ln';
const NONE: DpopUrlSettings = { publicOrigin: undefined, basePath: undefined };
const REST_ARN = parseExecuteApiArn(arnFor('GET', '/calendar/v1/events'));
const HTTP_ARN = parseExecuteApiArn('arn:aws:execute-api:eu-west-1:123456789012:abc123/$default/POST/calendar/v1/events');

const rest = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'REQUEST', methodArn: arnFor('GET', '/calendar/v1/events'), httpMethod: 'GET',
  headers: { Authorization: 'DPoP t', DPoP: PROOF }, multiValueHeaders: { Authorization: ['DPoP t'], DPoP: [PROOF] },
  requestContext: { domainName: DOMAIN, path: '/prod/calendar/v1/events', stage: 'prod' }, ...overrides,
});
const http = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  version: '2.0', type: 'REQUEST', routeArn: 'arn:aws:execute-api:eu-west-1:123456789012:abc123/$default/POST/calendar/v1/events',
  rawPath: '/calendar/v1/events', rawQueryString: 'a=1', headers: { authorization: 'DPoP t', dpop: PROOF },
  requestContext: { domainName: DOMAIN, http: { method: 'POST', path: '/calendar/v1/events' } }, ...overrides,
});

function refuses(event: Record<string, unknown>, check: RegExp, settings: DpopUrlSettings = NONE, arn = REST_ARN): void {
  assert.throws(() => dpopRequestOf(event, arn, settings), (error: unknown) => {
    assert.ok(error instanceof AuthError, String(error));
    assert.equal(error.code, 'dpop_proof_invalid');
    assert.match(error.message, check);
    return true;
  });
}

describe('dpopRequestOf: REST REQUEST events', () => {
  it('the proof, the ARN\'s method, and https:// + domainName + requestContext.path', () => {
    assert.deepEqual(dpopRequestOf(rest(), REST_ARN, NONE), { proof: PROOF, method: 'GET', url: `https://${DOMAIN}/prod/calendar/v1/events` });
  });

  it('reads "DPoP" in any spelling, in headers and multiValueHeaders', () => {
    for (const name of ['DPoP', 'dpop', 'DPOP', 'Dpop']) {
      const event = rest({ headers: { [name]: PROOF }, multiValueHeaders: { [name]: [PROOF] } });
      assert.equal(dpopRequestOf(event, REST_ARN, NONE).proof, PROOF, name);
    }
    assert.equal(dpopRequestOf(rest({ headers: { dpop: PROOF }, multiValueHeaders: { DPoP: [PROOF] } }), REST_ARN, NONE).proof, PROOF, 'the two maps may spell it differently');
    assert.equal(dpopRequestOf(rest({ multiValueHeaders: undefined }), REST_ARN, NONE).proof, PROOF, 'no multiValueHeaders (a hand-made event)');
    assert.equal(dpopRequestOf(rest({ headers: { DPoP: ` ${PROOF} ` }, multiValueHeaders: undefined }), REST_ARN, NONE).proof, PROOF, 'surrounding whitespace trimmed');
  });

  it('headers that only look like DPoP (DPoP-Nonce, X-DPoP) are not the proof', () => {
    refuses(rest({ headers: { 'DPoP-Nonce': PROOF, 'X-DPoP': PROOF }, multiValueHeaders: undefined }), /the request has no DPoP header/);
  });

  it('two DPoP headers are refused: two spellings, two values, or a comma', () => {
    refuses(rest({ headers: { DPoP: PROOF, dpop: OTHER } }), /more than one DPoP header/);
    refuses(rest({ headers: { DPoP: PROOF, dpop: PROOF } }), /more than one DPoP header/, NONE);
    refuses(rest({ multiValueHeaders: { DPoP: [PROOF, OTHER] } }), /more than one DPoP header/);
    refuses(rest({ multiValueHeaders: { DPoP: [PROOF, PROOF] } }), /more than one DPoP header/);
    refuses(rest({ multiValueHeaders: { DPoP: [PROOF], dpop: [PROOF] } }), /more than one DPoP header/);
    refuses(rest({ headers: { DPoP: `${PROOF},${OTHER}` }, multiValueHeaders: undefined }), /more than one DPoP header/);
  });

  it('headers and multiValueHeaders that disagree are refused', () => {
    refuses(rest({ headers: { DPoP: PROOF }, multiValueHeaders: { DPoP: [OTHER] } }), /headers and multiValueHeaders disagree on DPoP/);
  });

  it('no DPoP header, an empty one, or one that is not a string is refused', () => {
    refuses(rest({ headers: { Authorization: 'DPoP t' }, multiValueHeaders: { Authorization: ['DPoP t'] } }), /the request has no DPoP header/);
    refuses(rest({ headers: null, multiValueHeaders: null }), /no DPoP header/);
    refuses(rest({ headers: { DPoP: '' }, multiValueHeaders: { DPoP: [''] } }), /the DPoP header is empty/);
    refuses(rest({ headers: { DPoP: '   ' }, multiValueHeaders: undefined }), /the DPoP header is empty/);
    refuses(rest({ headers: { DPoP: 42 }, multiValueHeaders: undefined }), /the DPoP header is empty/);
    refuses(rest({ headers: { DPoP: null }, multiValueHeaders: undefined }), /empty/);
  });

  it('a header only in multiValueHeaders is not taken', () => {
    refuses(rest({ headers: {}, multiValueHeaders: { DPoP: [PROOF] } }), /no DPoP header/);
  });

  it('the host is compared in lower case, and a query in the path is not part of the URL', () => {
    const event = rest({ requestContext: { domainName: 'ABC123.Execute-API.eu-west-1.amazonaws.com', path: '/prod/calendar/v1/events' } });
    assert.equal(dpopRequestOf(event, REST_ARN, NONE).url, `https://${DOMAIN}/prod/calendar/v1/events`);
  });

  it('a TOKEN event is refused: it carries no DPoP header', () => {
    refuses({ type: 'TOKEN', methodArn: arnFor('GET', '/calendar/v1/events'), authorizationToken: 'DPoP t' }, /a TOKEN authorizer sees no DPoP header/);
  });
});

describe('dpopRequestOf: HTTP API (v2) events', () => {
  it('the URL from domainName and rawPath, the method from the route ARN', () => {
    assert.deepEqual(dpopRequestOf(http(), HTTP_ARN, NONE), { proof: PROOF, method: 'POST', url: `https://${DOMAIN}/calendar/v1/events` });
  });

  it('rawPath, not requestContext.path, with a named stage', () => {
    const event = http({ rawPath: '/prod/calendar/v1/events', requestContext: { domainName: DOMAIN, path: '/somewhere/else' } });
    assert.equal(dpopRequestOf(event, HTTP_ARN, NONE).url, `https://${DOMAIN}/prod/calendar/v1/events`);
  });

  it('duplicates joined with a comma (as HTTP APIs join repeated headers) are refused', () => {
    refuses(http({ headers: { dpop: `${PROOF},${OTHER}` } }), /more than one DPoP header/, NONE, HTTP_ARN);
    refuses(http({ headers: { dpop: `${PROOF}, ${PROOF}` } }), /more than one DPoP header/, NONE, HTTP_ARN);
  });

  it('a missing or relative rawPath is refused naming AUTH_DPOP_BASE_PATH', () => {
    refuses(http({ rawPath: undefined }), /no request path .*AUTH_DPOP_BASE_PATH/, NONE, HTTP_ARN);
    refuses(http({ rawPath: 'calendar/v1/events' }), /AUTH_DPOP_BASE_PATH/, NONE, HTTP_ARN);
  });
});

describe('dpopRequestOf: custom domains and base-path mappings', () => {
  it('publicOrigin replaces https:// + domainName, keeping the event\'s path', () => {
    const settings = { publicOrigin: 'https://api.example.com', basePath: undefined };
    assert.equal(dpopRequestOf(rest({ requestContext: { domainName: DOMAIN, path: '/calendar/v1/events' } }), REST_ARN, settings).url, 'https://api.example.com/calendar/v1/events');
    assert.equal(dpopRequestOf(http(), HTTP_ARN, settings).url, 'https://api.example.com/calendar/v1/events');
    assert.equal(dpopRequestOf(rest({ requestContext: { path: '/calendar/v1/events' } }), REST_ARN, settings).url, 'https://api.example.com/calendar/v1/events', 'no domain name needed then');
    assert.equal(dpopRequestOf(rest(), REST_ARN, { publicOrigin: 'http://localhost:3000', basePath: undefined }).url, 'http://localhost:3000/prod/calendar/v1/events');
  });

  it('basePath + the ARN\'s path replaces the event\'s path (base-path mappings)', () => {
    const settings = { publicOrigin: 'https://api.example.com', basePath: '/v1' };
    const event = rest({ requestContext: { domainName: 'api.example.com', path: '/v1/calendar/v1/events' } });
    assert.equal(dpopRequestOf(event, REST_ARN, settings).url, 'https://api.example.com/v1/calendar/v1/events');
    assert.equal(dpopRequestOf(rest({ requestContext: { domainName: 'api.example.com' } }), REST_ARN, settings).url, 'https://api.example.com/v1/calendar/v1/events', 'no path in the event needed then');
    assert.equal(dpopRequestOf(http({ rawPath: '/ignored' }), HTTP_ARN, { publicOrigin: undefined, basePath: '/beta/x' }).url, `https://${DOMAIN}/beta/x/calendar/v1/events`);
  });

  it('the ARN\'s concrete path is used for the base path, not a route template', () => {
    const arn = parseExecuteApiArn(arnFor('DELETE', '/calendar/v1/events/evt_42'));
    const event = rest({ methodArn: arnFor('DELETE', '/calendar/v1/events/evt_42') });
    assert.deepEqual(dpopRequestOf(event, arn, { publicOrigin: 'https://api.example.com', basePath: '/v1' }), { proof: PROOF, method: 'DELETE', url: 'https://api.example.com/v1/calendar/v1/events/evt_42' });
  });

  it('no domain name and no publicOrigin is refused naming AUTH_DPOP_PUBLIC_ORIGIN', () => {
    refuses(rest({ requestContext: { path: '/prod/calendar/v1/events' } }), /names no domain name .*set AUTH_DPOP_PUBLIC_ORIGIN/);
    refuses(rest({ requestContext: { domainName: '', path: '/prod/calendar/v1/events' } }), /AUTH_DPOP_PUBLIC_ORIGIN/);
    refuses(rest({ requestContext: undefined }), /AUTH_DPOP_PUBLIC_ORIGIN/);
    refuses(rest({ requestContext: { domainName: 42, path: '/prod/calendar/v1/events' } }), /AUTH_DPOP_PUBLIC_ORIGIN/);
    refuses(http({ requestContext: {} }), /AUTH_DPOP_PUBLIC_ORIGIN/, NONE, HTTP_ARN);
  });

  it('no path in a REST event and no basePath is refused naming AUTH_DPOP_BASE_PATH', () => {
    refuses(rest({ requestContext: { domainName: DOMAIN } }), /no request path to check "htu" against; set AUTH_DPOP_BASE_PATH/);
  });

  it('a domain name that does not make an http(s) URL is refused', () => {
    refuses(rest({ requestContext: { domainName: 'user@evil.example', path: '/prod/calendar/v1/events' } }), /is not an http\(s\) URL/);
    refuses(rest({ requestContext: { domainName: 'exa mple.com', path: '/prod/calendar/v1/events' } }), /is not an http\(s\) URL/);
  });
});
