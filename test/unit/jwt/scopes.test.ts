import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthError } from '../../../lib/errors.js';
import { grantedScopes, SCOPE_CLAIMS } from '../../../lib/jwt/scopes.js';

const invalid = (message: RegExp) => (error: unknown) => error instanceof AuthError && error.code === 'claim_invalid' && message.test(error.message);
const scopes = (payload: Record<string, unknown>, claims = [...SCOPE_CLAIMS]) => [...grantedScopes(payload, claims)].sort();

describe('grantedScopes', () => {
  it('reads each configured claim in its documented shape, and all of them together', () => {
    assert.deepEqual(scopes({ scope: 'read write' }), ['read', 'write']);
    assert.deepEqual(scopes({ scp: ['Calendars.Read', 'Calendars.Write'] }), ['Calendars.Read', 'Calendars.Write']);
    assert.deepEqual(scopes({ scp: 'Calendars.Read Calendars.Write' }), ['Calendars.Read', 'Calendars.Write']);
    assert.deepEqual(scopes({ permissions: ['read:events'] }), ['read:events']);
    assert.deepEqual(scopes({ roles: ['Geocode.All'] }), ['Geocode.All']);
    assert.deepEqual(scopes({ scope: 'a', scp: ['b'], permissions: ['c'], roles: ['d', 'a'] }), ['a', 'b', 'c', 'd']);
    assert.deepEqual(scopes({}), []);
  });

  it('reads only the configured claims: a scope in another claim grants nothing', () => {
    assert.deepEqual(scopes({ scope: 'read', roles: ['admin'], permissions: ['root'] }, ['scope']), ['read']);
    assert.deepEqual(scopes({ scope: 'admin', scp: ['read'] }, ['scp']), ['read']);
    assert.deepEqual(scopes({ scope: 'admin' }, []), []);
    // A claim of the wrong type that is not configured is not looked at.
    assert.deepEqual(scopes({ scope: 'read', roles: 'admin' }, ['scope']), ['read']);
  });

  it('splits on spaces only, skipping runs of them, and merges duplicates', () => {
    assert.deepEqual(scopes({ scope: '  read   write read ' }), ['read', 'write']);
    assert.deepEqual(scopes({ scp: ' Calendars.Read  ' }), ['Calendars.Read']);
    assert.deepEqual(scopes({ scope: '' }), []);
    assert.deepEqual(scopes({ scope: '   ' }), []);
  });

  it('refuses what a scope token may not hold (RFC 6749 §3.3): quote, backslash, controls, non-ASCII, other blanks', () => {
    for (const value of ['read,write"', 'a\\b', 'read\twrite', 'read\nwrite', 'caf\u00e9', 'read\u00a0write', '\u007f', 'read\u0000']) {
      assert.throws(() => grantedScopes({ scope: value }, ['scope']), invalid(/"scope" holds a value that is not an RFC 6749 scope token/), JSON.stringify(value));
      assert.throws(() => grantedScopes({ scp: value }, ['scp']), invalid(/"scp" holds/), JSON.stringify(value));
    }
    // In an array, an item is one scope: a space inside it would make it two in the context string.
    for (const item of ['read write', '', 'a"b', 'x\u00e9']) {
      for (const claim of ['scp', 'permissions', 'roles'] as const) {
        assert.throws(() => grantedScopes({ [claim]: ['ok', item] }, [claim]), invalid(new RegExp(`"${claim}" holds`)), `${claim} ${JSON.stringify(item)}`);
      }
    }
    // The edges of the allowed range are allowed.
    assert.deepEqual(scopes({ scope: '! # [ ] ~ https://api.example.com/calendar/read' }), ['!', '#', '[', ']', 'https://api.example.com/calendar/read', '~']);
  });

  it('refuses a claim of the wrong type rather than ignoring it', () => {
    // "scope" is always a string.
    for (const value of [['read'], 42, true, null, { read: true }]) {
      assert.throws(() => grantedScopes({ scope: value }, ['scope']), invalid(/"scope" is not a string/), JSON.stringify(value));
    }
    // "permissions" and "roles" are always arrays; "scp" an array or a string.
    for (const claim of ['permissions', 'roles'] as const) {
      assert.throws(() => grantedScopes({ [claim]: 'read' }, [claim]), invalid(new RegExp(`"${claim}" is not an array of strings`)), claim);
    }
    for (const claim of ['scp', 'permissions', 'roles'] as const) {
      for (const value of [42, null, { read: true }, ['read', 1], [['read']], [null], true]) {
        assert.throws(() => grantedScopes({ [claim]: value }, [claim]), invalid(new RegExp(`"${claim}" is not an array of strings`)), `${claim} ${JSON.stringify(value)}`);
      }
    }
    // An empty array grants nothing, and is not an error.
    assert.deepEqual(scopes({ scp: [], permissions: [], roles: [] }), []);
  });
});
