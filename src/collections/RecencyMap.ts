import { LinkedList, type ListNode } from "./LinkedList.js"

interface Entry<K, V> {
  readonly key: K
  value: V
}

/**
 * A map that remembers the order in which its keys were last used, oldest first, for caches and
 * idle expiry. A `Map` kept in that order by deleting and setting a key on every use churns its
 * hash table on the hot path (see LinkedList for what that costs); here a use only moves a list
 * node, and the index changes only when a key comes or goes.
 */
export class RecencyMap<K, V> {
  private readonly index = new Map<K, ListNode<Entry<K, V>>>()
  private readonly order = new LinkedList<Entry<K, V>>()

  get size(): number {
    return this.index.size
  }

  /** The value of `key`, which becomes the most recently used. */
  use(key: K): V | undefined {
    const node = this.index.get(key)
    if (node === undefined) return undefined
    this.order.moveToBack(node)
    return node.value.value
  }

  /** The value of `key`, leaving the order as it is. */
  peek(key: K): V | undefined {
    return this.index.get(key)?.value.value
  }

  /** Sets `key`, which becomes the most recently used. */
  set(key: K, value: V): void {
    const node = this.index.get(key)
    if (node === undefined) {
      this.index.set(key, this.order.push({ key, value }))
    } else {
      node.value.value = value
      this.order.moveToBack(node)
    }
  }

  delete(key: K): boolean {
    const node = this.index.get(key)
    if (node === undefined) return false
    this.index.delete(key)
    this.order.remove(node)
    return true
  }

  /** The least recently used entry. */
  oldest(): readonly [K, V] | undefined {
    const node = this.order.first
    return node === undefined ? undefined : [node.value.key, node.value.value]
  }

  /** Entries, least recently used first. Deleting the current key while iterating is allowed. */
  *entries(): IterableIterator<readonly [K, V]> {
    for (const entry of this.order) yield [entry.key, entry.value]
  }
}
