/**
 * A bounded least-recently-used map. A Map's insertion order is its recency order: the first
 * entry is the one to evict. To keep hits cheap, an entry is moved to the end only once it has
 * aged past half the capacity; recent entries are left where they are (an approximation of LRU
 * that never evicts an entry used within the last capacity/2 insertions).
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, { value: V; stamp: number }>();
  private clock = 0;
  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.clock - entry.stamp >= this.capacity / 2) {
      this.entries.delete(key);
      entry.stamp = ++this.clock;
      this.entries.set(key, entry);
    }
    return entry.value;
  }

  set(key: K, value: V): void {
    if (this.capacity <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, stamp: ++this.clock });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
  }

  /** The value without touching recency. */
  peek(key: K): V | undefined {
    return this.entries.get(key)?.value;
  }

  keys(): IterableIterator<K> {
    return this.entries.keys();
  }

  delete(key: K): void {
    this.entries.delete(key);
  }
}
