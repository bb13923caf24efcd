/**
 * A Map that keeps its keys in use order: `get` and `set` make a key the most recently used,
 * `peek` does not. It never drops an entry by itself: `evict` drops the least recently used
 * entries the caller lets go while there are more than `capacity` (an entry still in use stays).
 */
export class LruMap<K, V> {
  readonly capacity: number;
  /** Least recently used first: a use moves a key to the end. */
  readonly #entries = new Map<K, V>();

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value, now the most recently used. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, value);
    }
    return value;
  }

  /** The value, its place in the order unchanged. */
  peek(key: K): V | undefined {
    return this.#entries.get(key);
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** Stores the value as the most recently used. */
  set(key: K, value: V): this {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    return this.#entries.delete(key);
  }

  /** Least recently used first. */
  keys(): IterableIterator<K> {
    return this.#entries.keys();
  }

  /** Least recently used first. */
  values(): IterableIterator<V> {
    return this.#entries.values();
  }

  /**
   * While over capacity, drops the least recently used entries `mayDrop` lets go (all by
   * default), oldest first. Returns what was dropped, so the caller can release it.
   */
  evict(mayDrop: (value: V, key: K) => boolean = () => true): Array<[K, V]> {
    const dropped: Array<[K, V]> = [];
    for (const [key, value] of this.#entries) {
      if (this.#entries.size <= this.capacity) break;
      if (!mayDrop(value, key)) continue;
      this.#entries.delete(key);
      dropped.push([key, value]);
    }
    return dropped;
  }
}
