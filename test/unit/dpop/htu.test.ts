/**
 * `htu` normalisation (lib/dpop/htu.ts), RFC 9449 §4.3 check 9 with RFC 3986 §6.2.2–6.2.3: the
 * proof's `htu` and the request's URL compare equal after it, and nothing else does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeHtu } from '../../../lib/dpop/htu.js';

const BASE = 'https://api.example.com/calendar/v1/events';

describe('normalizeHtu', () => {
  it('leaves a normal URL as it is', () => {
    assert.equal(normalizeHtu(BASE), BASE);
    assert.equal(normalizeHtu('http://localhost:3000/dev/calendar/v1/events'), 'http://localhost:3000/dev/calendar/v1/events');
  });

  it('lower-cases the scheme and host, but not the path', () => {
    assert.equal(normalizeHtu('HTTPS://API.Example.COM/calendar/v1/events'), BASE);
    assert.equal(normalizeHtu('https://api.example.com/Calendar/V1/Events'), 'https://api.example.com/Calendar/V1/Events');
    assert.notEqual(normalizeHtu('https://api.example.com/Calendar/v1/events'), BASE);
  });

  it('drops the default port (443 for https, 80 for http) and keeps any other', () => {
    assert.equal(normalizeHtu('https://api.example.com:443/calendar/v1/events'), BASE);
    assert.equal(normalizeHtu('http://api.example.com:80/x'), 'http://api.example.com/x');
    assert.equal(normalizeHtu('https://api.example.com:8443/x'), 'https://api.example.com:8443/x');
    assert.equal(normalizeHtu('https://api.example.com:80/x'), 'https://api.example.com:80/x', '80 is not https\'s default');
    assert.equal(normalizeHtu('http://api.example.com:443/x'), 'http://api.example.com:443/x', '443 is not http\'s default');
    assert.equal(normalizeHtu('https://[::1]:443/x'), 'https://[::1]/x');
  });

  it('ignores the query and the fragment', () => {
    assert.equal(normalizeHtu(`${BASE}?from=2024-01-01&to=2024-02-01`), BASE);
    assert.equal(normalizeHtu(`${BASE}#section`), BASE);
    assert.equal(normalizeHtu(`${BASE}?a=1#b`), BASE);
    assert.equal(normalizeHtu(`${BASE}?`), BASE);
  });

  it('gives an empty path as "/"', () => {
    assert.equal(normalizeHtu('https://api.example.com'), 'https://api.example.com/');
    assert.equal(normalizeHtu('https://api.example.com?x=1'), 'https://api.example.com/');
  });

  it('normalises percent-encoding: hex digits in upper case, unreserved characters decoded', () => {
    assert.equal(normalizeHtu('https://api.example.com/a%2fb'), 'https://api.example.com/a%2Fb');
    assert.equal(normalizeHtu('https://api.example.com/a%2Fb'), 'https://api.example.com/a%2Fb');
    assert.equal(normalizeHtu('https://api.example.com/%7euser'), 'https://api.example.com/~user');
    assert.equal(normalizeHtu('https://api.example.com/%61%62%63'), 'https://api.example.com/abc');
    assert.equal(normalizeHtu('https://api.example.com/caf%c3%a9'), 'https://api.example.com/caf%C3%A9');
    assert.equal(normalizeHtu('https://api.example.com/café'), 'https://api.example.com/caf%C3%A9', 'a raw non-ASCII character is encoded as the percent-encoded form is');
    assert.equal(normalizeHtu('https://api.example.com/a%20b'), normalizeHtu('https://api.example.com/a b'));
  });

  it('removes dot segments, plain and percent-encoded', () => {
    assert.equal(normalizeHtu('https://api.example.com/calendar/./v1/x/../events'), BASE);
    assert.equal(normalizeHtu('https://api.example.com/calendar/v1/events/.'), `${BASE}/`);
    assert.equal(normalizeHtu('https://api.example.com/../../calendar/v1/events'), BASE, 'no climbing above the root');
    assert.equal(normalizeHtu('https://api.example.com/calendar/v1/x/%2e%2e/events'), BASE);
    assert.equal(normalizeHtu('https://api.example.com/calendar/v1/x/.%2E/events'), BASE);
  });

  it('refuses userinfo', () => {
    assert.equal(normalizeHtu('https://user@api.example.com/calendar/v1/events'), undefined);
    assert.equal(normalizeHtu('https://user:secret@api.example.com/calendar/v1/events'), undefined);
    assert.equal(normalizeHtu('https://:secret@api.example.com/'), undefined);
  });

  it('refuses schemes other than http and https', () => {
    for (const url of ['ftp://api.example.com/x', 'wss://api.example.com/x', 'ws://api.example.com/x', 'file:///etc/passwd', 'javascript:alert(1)', 'data:text/plain,hi', 'urn:ietf:params:oauth', 'httpx://api.example.com/']) {
      assert.equal(normalizeHtu(url), undefined, url);
    }
  });

  it('refuses what is not a URL', () => {
    for (const value of ['', ' ', 'not a url', '/calendar/v1/events', 'api.example.com/calendar', 'https://', 'https://exa mple.com/', 'https://[::1/', 'https://api.example.com:99999/']) {
      assert.equal(normalizeHtu(value), undefined, JSON.stringify(value));
    }
  });
});
