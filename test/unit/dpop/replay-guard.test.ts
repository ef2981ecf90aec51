/**
 * DpopReplayGuard (lib/dpop/replay-guard.ts): a proof is accepted once, in this container's memory
 * and, with a store, across the fleet; the store failing refuses as a transient failure unless the
 * operator chose container-only. Fake stores stand in for DynamoDB.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DpopReplayGuard, type ReplayEvent, type ReplayGuardOptions, replayKey, type ReplayStore } from '../../../lib/dpop/replay-guard.js';
import { AuthError, type ReasonCode } from '../../../lib/errors.js';

const OPTIONS: ReplayGuardOptions = { cacheSize: 100, timeoutMs: 200, containerOnlyWhenStoreDown: false };
const THUMBPRINT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const NOW = 1_800_000_000;

const isAuthError = (code: ReasonCode, message?: RegExp) => (error: unknown): boolean => {
  assert.ok(error instanceof AuthError, `an AuthError, not ${String(error)}`);
  assert.equal(error.code, code);
  if (message !== undefined) assert.match(error.message, message);
  return true;
};

/** A store whose answer the test sets, recording each claim. */
class FakeStore implements ReplayStore {
  claims: { key: string; expiresAt: number; signal: AbortSignal }[] = [];
  answer: () => Promise<boolean> = async () => true;
  claim(key: string, expiresAt: number, signal: AbortSignal): Promise<boolean> {
    this.claims.push({ key, expiresAt, signal });
    return this.answer();
  }
}

describe('DpopReplayGuard in memory only', () => {
  it('accepts a proof once and refuses its second use, synchronously', () => {
    const guard = new DpopReplayGuard(OPTIONS);
    const key = replayKey(THUMBPRINT, 'jti-1');
    assert.equal(guard.check(key, NOW + 305, NOW), undefined);
    assert.throws(() => guard.check(key, NOW + 305, NOW + 1), isAuthError('dpop_proof_replayed', /used before/));
    assert.throws(() => guard.check(key, NOW + 305, NOW + 305), isAuthError('dpop_proof_replayed'), 'still refused at its last second');
    assert.equal(guard.check(replayKey(THUMBPRINT, 'jti-2'), NOW + 305, NOW), undefined, 'another jti');
  });

  it('accepts a key again once its entry has expired (until < now)', () => {
    const guard = new DpopReplayGuard(OPTIONS);
    const key = replayKey(THUMBPRINT, 'jti-expiring');
    guard.check(key, NOW + 10, NOW);
    assert.throws(() => guard.check(key, NOW + 20, NOW + 10), isAuthError('dpop_proof_replayed'));
    assert.equal(guard.check(key, NOW + 320, NOW + 11), undefined);
    // And the new use is remembered in turn.
    assert.throws(() => guard.check(key, NOW + 320, NOW + 12), isAuthError('dpop_proof_replayed'));
  });

  it('the same jti by two keys is two proofs', () => {
    const guard = new DpopReplayGuard(OPTIONS);
    guard.check(replayKey(THUMBPRINT, 'shared-jti'), NOW + 300, NOW);
    assert.equal(guard.check(replayKey('another-thumbprint-aaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'shared-jti'), NOW + 300, NOW), undefined);
  });
});

describe('DpopReplayGuard with a store', () => {
  it('the first claim is accepted, with the key, its expiry and a signal passed to the store', async () => {
    const store = new FakeStore();
    const guard = new DpopReplayGuard(OPTIONS, store);
    const key = replayKey(THUMBPRINT, 'jti-store-1');
    const result = guard.check(key, NOW + 305, NOW);
    assert.ok(result instanceof Promise, 'a promise of the store\'s answer');
    await result;
    assert.equal(store.claims.length, 1);
    assert.equal(store.claims[0]!.key, key);
    assert.equal(store.claims[0]!.expiresAt, NOW + 305);
    assert.ok(store.claims[0]!.signal instanceof AbortSignal);
  });

  it('the store saying it was seen (another container) refuses as dpop_proof_replayed', async () => {
    const store = new FakeStore();
    store.answer = async () => false;
    const guard = new DpopReplayGuard(OPTIONS, store);
    await assert.rejects(Promise.resolve(guard.check(replayKey(THUMBPRINT, 'jti-elsewhere'), NOW + 305, NOW)), isAuthError('dpop_proof_replayed', /another container/));
  });

  it('memory answers before the store: a second use in this container is refused without asking it', async () => {
    const store = new FakeStore();
    const guard = new DpopReplayGuard(OPTIONS, store);
    const key = replayKey(THUMBPRINT, 'jti-twice');
    await guard.check(key, NOW + 305, NOW);
    assert.throws(() => guard.check(key, NOW + 305, NOW), isAuthError('dpop_proof_replayed'));
    assert.equal(store.claims.length, 1);
  });

  it('two copies racing in one container: the second loses before the store has answered the first', async () => {
    const store = new FakeStore();
    let answerFirst: ((value: boolean) => void) | undefined;
    store.answer = () => new Promise<boolean>((resolve) => (answerFirst = resolve));
    const guard = new DpopReplayGuard(OPTIONS, store);
    const key = replayKey(THUMBPRINT, 'jti-race');
    const first = guard.check(key, NOW + 305, NOW);
    assert.throws(() => guard.check(key, NOW + 305, NOW), isAuthError('dpop_proof_replayed'));
    answerFirst!(true);
    await first;
  });

  it('the store rejecting refuses as dpop_replay_unavailable, tells onEvent, and forgets the key: a retry after recovery is accepted', async () => {
    const store = new FakeStore();
    store.answer = async () => {
      throw new Error('ProvisionedThroughputExceededException: slow down');
    };
    const events: ReplayEvent[] = [];
    const guard = new DpopReplayGuard(OPTIONS, store, (event) => events.push(event));
    const key = replayKey(THUMBPRINT, 'jti-outage');
    await assert.rejects(Promise.resolve(guard.check(key, NOW + 305, NOW)), (error: unknown) => {
      isAuthError('dpop_replay_unavailable', /could not be asked: ProvisionedThroughputExceededException/)(error);
      assert.match(String((error as AuthError).cause), /slow down/, 'the store\'s error as the cause');
      return true;
    });
    assert.equal(events.length, 1);
    assert.equal(events[0]!.type, 'dpop_replay_store_failed');
    assert.match(events[0]!.detail, /ProvisionedThroughputExceededException/);
    assert.ok(!events[0]!.detail.includes(key), 'the event names no replay key');
    assert.ok(!events[0]!.detail.includes('jti-outage'), 'nor the jti');
    store.answer = async () => true;
    await guard.check(key, NOW + 305, NOW + 1);
    assert.equal(store.claims.length, 2, 'asked again');
  });

  it('a store that throws a non-Error still refuses as dpop_replay_unavailable', async () => {
    const store = new FakeStore();
    store.answer = () => Promise.reject('socket hang up');
    const guard = new DpopReplayGuard(OPTIONS, store);
    await assert.rejects(Promise.resolve(guard.check(replayKey(THUMBPRINT, 'jti-string'), NOW + 305, NOW)), isAuthError('dpop_replay_unavailable', /socket hang up/));
  });

  it('containerOnlyWhenStoreDown: the store failing accepts on memory, tells onEvent, and memory still refuses a replay', async () => {
    const store = new FakeStore();
    store.answer = async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:8000');
    };
    const events: ReplayEvent[] = [];
    const guard = new DpopReplayGuard({ ...OPTIONS, containerOnlyWhenStoreDown: true }, store, (event) => events.push(event));
    const key = replayKey(THUMBPRINT, 'jti-container-only');
    await guard.check(key, NOW + 305, NOW);
    assert.deepEqual(events.map(({ type }) => type), ['dpop_replay_store_failed']);
    assert.match(events[0]!.detail, /ECONNREFUSED/);
    assert.ok(!events[0]!.detail.includes(key) && !events[0]!.detail.includes('jti-container-only'), 'no key or jti in the detail');
    assert.throws(() => guard.check(key, NOW + 305, NOW + 1), isAuthError('dpop_proof_replayed'));
  });

  it('containerOnlyWhenStoreDown does not override the store\'s "seen": a replay from another container is still refused', async () => {
    const store = new FakeStore();
    store.answer = async () => false;
    const guard = new DpopReplayGuard({ ...OPTIONS, containerOnlyWhenStoreDown: true }, store);
    await assert.rejects(Promise.resolve(guard.check(replayKey(THUMBPRINT, 'jti-seen'), NOW + 305, NOW)), isAuthError('dpop_proof_replayed'));
  });

  it('a store that never settles: the signal it was given fires after timeoutMs, and the check is refused as unavailable', { timeout: 10_000 }, async () => {
    let given: AbortSignal | undefined;
    const store: ReplayStore = {
      claim: (_key, _expiresAt, signal) => new Promise<boolean>((_resolve, reject) => {
        given = signal;
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
    };
    const events: ReplayEvent[] = [];
    const guard = new DpopReplayGuard({ ...OPTIONS, timeoutMs: 50 }, store, (event) => events.push(event));
    // AbortSignal.timeout's timer does not hold the event loop open, and a store that never answers
    // holds nothing either: without this the runner would see an idle loop and cancel the test.
    const keepAlive = setInterval(() => undefined, 1_000);
    try {
      await assert.rejects(Promise.resolve(guard.check(replayKey(THUMBPRINT, 'jti-hang'), NOW + 305, NOW)), isAuthError('dpop_replay_unavailable'));
    } finally {
      clearInterval(keepAlive);
    }
    assert.equal(given?.aborted, true);
    assert.equal((given?.reason as Error | undefined)?.name, 'TimeoutError');
    assert.equal(events.length, 1);
  });
});

describe('replayKey', () => {
  it('is a base64url SHA-256 that holds neither the jti nor the thumbprint', () => {
    const jti = 'client-chosen-jti-0123456789';
    const key = replayKey(THUMBPRINT, jti);
    assert.match(key, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!key.includes(jti) && !key.includes(THUMBPRINT));
    assert.equal(replayKey(THUMBPRINT, jti), key, 'the same for the same proof');
  });

  it('differs per thumbprint and per jti', () => {
    const keys = new Set([
      replayKey(THUMBPRINT, 'a'), replayKey(THUMBPRINT, 'b'), replayKey('0ther-thumbprint-xxxxxxxxxxxxxxxxxxxxxxxxxxx', 'a'), replayKey(THUMBPRINT, 'a '), replayKey(THUMBPRINT, ''),
    ]);
    assert.equal(keys.size, 5);
  });
});
