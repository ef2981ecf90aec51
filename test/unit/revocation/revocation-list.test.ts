import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Revocation } from '../../../lib/revocation/revocation-entry.js';
import { RevocationList } from '../../../lib/revocation/revocation-list.js';

const ISS = 'https://issuer.example/';
const token = (overrides: Record<string, unknown> = {}) => ({ issuer: ISS, subject: 'alice', clientId: 'calendar-app', tokenId: 'jti-1', issuedAt: 1000, ...overrides });
const entry = (kind: Revocation['kind'], value: string, notBefore?: number, issuer = ISS): Revocation => ({ kind, issuer, value, notBefore, expiresAt: 10_000 });

describe('RevocationList', () => {
  it('one token by (iss, jti): that token only, and only from that issuer', () => {
    const list = new RevocationList();
    list.add(entry('token', 'jti-1'));
    assert.match(list.reasonFor(token()) ?? '', /jti/);
    assert.equal(list.reasonFor(token({ tokenId: 'jti-2' })), undefined);
    assert.equal(list.reasonFor(token({ issuer: 'https://other.example/' })), undefined, 'the same jti at another issuer is another token');
    assert.equal(list.reasonFor(token({ tokenId: undefined })), undefined);
  });

  it('a subject "not before": tokens issued before it are refused, later ones pass, and a token without iat is refused', () => {
    const list = new RevocationList();
    list.add(entry('subject', 'alice', 1000));
    assert.match(list.reasonFor(token({ issuedAt: 999 })) ?? '', /subject/);
    assert.equal(list.reasonFor(token({ issuedAt: 1000 })), undefined, 'issued in the second of the revocation');
    assert.equal(list.reasonFor(token({ issuedAt: 1001 })), undefined);
    assert.match(list.reasonFor(token({ issuedAt: undefined })) ?? '', /subject/, 'cannot show it was issued after');
    assert.equal(list.reasonFor(token({ subject: 'bob', issuedAt: 1 })), undefined);
    assert.equal(list.reasonFor(token({ issuer: 'https://other.example/', issuedAt: 1 })), undefined, 'alice at another issuer is another subject');
  });

  it('a client "not before" refuses that client\'s tokens issued before it, whoever the subject', () => {
    const list = new RevocationList();
    list.add(entry('client', 'calendar-app', 1000));
    assert.match(list.reasonFor(token({ issuedAt: 500, subject: 'carol' })) ?? '', /client/);
    assert.equal(list.reasonFor(token({ issuedAt: 500, clientId: 'other-app' })), undefined);
    assert.equal(list.reasonFor(token({ issuedAt: 500, clientId: undefined })), undefined);
  });

  it('the latest "not before" wins, whatever order entries arrive in; prune drops only what can no longer match', () => {
    const list = new RevocationList();
    list.add(entry('subject', 'alice', 2000));
    list.add(entry('subject', 'alice', 1000));
    assert.match(list.reasonFor(token({ issuedAt: 1500 })) ?? '', /before 2000/);
    list.add({ ...entry('token', 'old'), expiresAt: 100 });
    // A token passes up to the clock tolerance (at most 300 s) past its exp: its entry stays that long.
    list.prune(100 + 299, 3600);
    assert.match(list.reasonFor(token({ tokenId: 'old', issuedAt: 3000 })) ?? '', /jti/, 'kept within the tolerance after exp');
    list.prune(100 + 301, 3600);
    assert.equal(list.reasonFor(token({ tokenId: 'old', issuedAt: 3000 })), undefined, 'an expired token entry is pruned');
    assert.match(list.reasonFor(token({ issuedAt: 1500 })) ?? '', /subject/, 'the subject entry still matters');
    // Tokens it matches were issued before 2000, so they expire by 2000 + the lifetime, + the tolerance each side.
    list.prune(2000 + 3600 + 599, 3600);
    assert.equal(list.size, 1);
    list.prune(2000 + 3600 + 601, 3600);
    assert.equal(list.size, 0);
  });
});
