import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthError, type ReasonCode } from '../../../lib/errors.js';
import type { Revocation } from '../../../lib/revocation/revocation-entry.js';
import { type RevocationEvent, type RevocationOptions, RevocationRefresher } from '../../../lib/revocation/revocation-refresher.js';
import type { RevocationPage, RevocationSource } from '../../../lib/revocation/revocation-source.js';

const ISS = 'https://issuer.example/';
const OPTIONS: RevocationOptions = { refreshSeconds: 5, maxStalenessSeconds: 60, failOpen: false, timeoutMs: 200, maxTokenLifetimeSeconds: 86_400 };
const alice = { issuer: ISS, subject: 'alice', clientId: 'app', tokenId: 't1', issuedAt: 1_000 };
const revoked = (value: string): Revocation => ({ kind: 'token', issuer: ISS, value, notBefore: undefined, expiresAt: 10_000_000 });

/** A store the test answers by hand: each query waits until the test resolves or rejects it. */
class ManualSource implements RevocationSource {
  readonly asked: (string | undefined)[] = [];
  private pending: { resolve: (page: RevocationPage) => void; reject: (error: Error) => void }[] = [];
  entriesAfter(after: string | undefined, signal: AbortSignal): Promise<RevocationPage> {
    this.asked.push(after);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      signal.addEventListener('abort', () => reject(new Error('aborted')));
    });
  }
  answer(revocations: Revocation[] = [], skipped = 0): void {
    this.pending.shift()!.resolve({ revocations, skipped });
  }
  fail(message = 'ResourceNotFoundException'): void {
    this.pending.shift()!.reject(new Error(message));
  }
  get waiting(): number {
    return this.pending.length;
  }
}

const refusedWith = (code: ReasonCode) => (error: unknown) => error instanceof AuthError && error.code === code;

function setup(options: Partial<RevocationOptions> = {}) {
  const clock = { now: 1_000_000 };
  const events: RevocationEvent[] = [];
  const source = new ManualSource();
  const refresher = new RevocationRefresher(source, { ...OPTIONS, ...options }, { now: () => clock.now, onEvent: (event) => events.push(event) });
  return { clock, events, source, refresher };
}

describe('RevocationRefresher', () => {
  it('loads at cold start; until then requests wait, then decide on what was loaded', async () => {
    const { source, refresher, events } = setup();
    refresher.start();
    const waiting = refresher.whenCurrent();
    assert.ok(waiting instanceof Promise, 'before the first load, a request waits');
    source.answer([revoked('t1')]);
    await waiting;
    assert.throws(() => refresher.check(alice), refusedWith('token_revoked'));
    refresher.check({ ...alice, tokenId: 't2' });
    assert.deepEqual(source.asked, [undefined], 'the first load reads everything');
    assert.match(events[0]!.detail, /1 entry read; 1 in force/);
  });

  it('within the interval no request waits or queries; past half of it one refresh starts in the background; past it, requests wait for it', async () => {
    const { clock, source, refresher } = setup();
    refresher.start();
    source.answer();
    await Promise.resolve();
    await refresher.whenCurrent();
    clock.now += 2_000;
    assert.equal(refresher.whenCurrent(), undefined);
    assert.equal(source.waiting, 0);
    clock.now += 1_000;
    assert.equal(refresher.whenCurrent(), undefined, 'past half the interval: still no wait');
    assert.equal(source.waiting, 1, 'but a background refresh started');
    source.answer([revoked('t1')]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.throws(() => refresher.check(alice), refusedWith('token_revoked'));
    clock.now += 6_000;
    const waiting = refresher.whenCurrent();
    assert.ok(waiting instanceof Promise);
    source.answer();
    await waiting;
  });

  it('a flight begun before an idle spell (a frozen container) is not joined: the request waits for a fresh one', async () => {
    const { clock, source, refresher } = setup();
    refresher.start();
    source.answer();
    await refresher.whenCurrent();
    clock.now += 3_000;
    assert.equal(refresher.whenCurrent(), undefined);
    assert.equal(source.waiting, 1, 'the background refresh of the last request before the freeze');
    // Frozen for 30 s; meanwhile alice's token is revoked. The old flight would answer as of t=3 s.
    clock.now += 30_000;
    const waiting = refresher.whenCurrent()!;
    assert.equal(source.waiting, 2, 'a new flight, not the frozen one');
    source.answer();
    source.answer([revoked('t1')]);
    await waiting;
    assert.throws(() => refresher.check(alice), refusedWith('token_revoked'));
  });

  it('each refresh asks only for what was written since the last one began, less a minute of overlap for writers\' clocks', async () => {
    const { clock, source, refresher } = setup();
    refresher.start();
    source.answer();
    await refresher.whenCurrent();
    const firstAt = clock.now;
    clock.now += 10_000;
    const waiting = refresher.whenCurrent();
    source.answer();
    await waiting;
    assert.equal(source.asked[1], `${String(firstAt - 60_000).padStart(15, '0')}#`);
  });

  it('store down: the last list serves up to the maximum staleness, then requests are refused as revocation_unavailable (transient)', async () => {
    const { clock, source, refresher, events } = setup({ maxStalenessSeconds: 30 });
    refresher.start();
    source.answer([revoked('t1')]);
    await refresher.whenCurrent();
    clock.now += 10_000;
    let waiting = refresher.whenCurrent()!;
    source.fail();
    await waiting;
    assert.equal(events.at(-1)!.type, 'revocations_refresh_failed');
    assert.throws(() => refresher.check(alice), refusedWith('token_revoked'), 'the last list still applies');
    refresher.check({ ...alice, tokenId: 't2' });
    clock.now += 25_000;
    waiting = refresher.whenCurrent()!;
    source.fail();
    await waiting;
    assert.throws(() => refresher.check({ ...alice, tokenId: 't2' }), refusedWith('revocation_unavailable'));
  });

  it('a store that never answers holds a request at most the timeout, and then the staleness rule decides', async () => {
    const { source, refresher } = setup({ timeoutMs: 50 });
    refresher.start();
    const started = performance.now();
    await refresher.whenCurrent();
    assert.ok(performance.now() - started < 1_000, 'bounded by the timeout');
    assert.equal(source.waiting, 1, 'the query is still in flight for later requests');
    assert.throws(() => refresher.check(alice), refusedWith('revocation_unavailable'), 'never loaded: fail closed');
  });

  it('fail open is an explicit choice: a stale or missing list then allows (revoked entries it knows still refuse)', async () => {
    const { source, refresher } = setup({ failOpen: true, timeoutMs: 50 });
    refresher.start();
    await refresher.whenCurrent();
    refresher.check(alice);
    source.answer([revoked('t1')]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.throws(() => refresher.check(alice), refusedWith('token_revoked'));
  });

  it('unreadable items are skipped and reported (not enforced: a warning), never fatal', async () => {
    const { source, refresher, events } = setup();
    refresher.start();
    source.answer([revoked('t1')], 3);
    await refresher.whenCurrent();
    assert.match(events.find((event) => event.type === 'revocations_unreadable')?.detail ?? '', /3 item\(s\).*not enforced/);
    assert.throws(() => refresher.check(alice), refusedWith('token_revoked'));
  });
});
