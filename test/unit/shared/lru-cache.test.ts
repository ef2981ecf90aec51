import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LruCache } from '../../../lib/shared/lru-cache.js';

describe('LruCache', () => {
  it('evicts the least recently used entry and refreshes recency on a hit', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    assert.equal(cache.get('a'), 1);
    cache.set('c', 3);
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a'), 1);
    assert.equal(cache.get('c'), 3);
    assert.equal(cache.size, 2);
  });

  it('with capacity 0 remembers nothing', () => {
    const cache = new LruCache<string, number>(0);
    cache.set('a', 1);
    assert.equal(cache.get('a'), undefined);
  });
});
