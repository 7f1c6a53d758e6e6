import { describe, expect, it } from "vitest"
import { LinkedList, type ListNode } from "../../src/collections/LinkedList.js"

/** A node's links as the list keeps them (read-only, and partly hidden, outside the list). */
const links = <A>(node: ListNode<A>) => {
  const link = node as unknown as { prev: unknown; next: unknown; list: unknown }
  return [link.prev, link.next, link.list]
}
const unlinked = [undefined, undefined, undefined]

describe("LinkedList", () => {
  it("keeps values oldest first; shift takes the oldest", () => {
    const list = new LinkedList<string>()
    list.push("a")
    list.push("b")
    list.push("c")
    expect([...list]).toEqual(["a", "b", "c"])
    expect(list.size).toBe(3)
    expect(list.shift()).toBe("a")
    expect([...list]).toEqual(["b", "c"])
    expect(list.first?.value).toBe("b")
  })

  it("removes a node from the head, the middle and the tail, once", () => {
    const list = new LinkedList<number>()
    const nodes = [1, 2, 3, 4].map((value) => list.push(value))
    expect(list.remove(nodes[1]!)).toBe(true)
    expect(list.remove(nodes[1]!)).toBe(false)
    expect(list.remove(nodes[0]!)).toBe(true)
    expect(list.remove(nodes[3]!)).toBe(true)
    expect([...list]).toEqual([3])
    expect(list.size).toBe(1)
    list.push(5)
    expect([...list]).toEqual([3, 5])
  })

  it("leaves a removed node pointing at nothing, so that a dead node keeps no live one reachable", () => {
    const list = new LinkedList<number>()
    const [first, middle, last] = [1, 2, 3].map((value) => list.push(value))
    list.remove(middle!)
    expect(links(middle!)).toEqual(unlinked)
    list.shift()
    expect(links(first!)).toEqual(unlinked)
    expect(links(last!)[0]).toBeUndefined()
  })

  it("ignores a node of another list", () => {
    const one = new LinkedList<number>()
    const other = new LinkedList<number>()
    const node = other.push(1)
    one.push(2)
    expect(one.remove(node)).toBe(false)
    one.moveToBack(node)
    expect([...one]).toEqual([2])
    expect([...other]).toEqual([1])
  })

  it("moves a node to the back without changing the size", () => {
    const list = new LinkedList<string>()
    const a = list.push("a")
    list.push("b")
    const c = list.push("c")
    list.moveToBack(a)
    expect([...list]).toEqual(["b", "c", "a"])
    list.moveToBack(a)
    list.moveToBack(c)
    expect([...list]).toEqual(["b", "a", "c"])
    expect(list.size).toBe(3)
  })

  it("allows removing the current node while iterating, and walks by first and next", () => {
    const list = new LinkedList<number>()
    const nodes = Array.from({ length: 6 }, (_, i) => list.push(i))
    for (const value of list) if (value % 2 === 0) list.remove(nodes[value]!)
    expect([...list]).toEqual([1, 3, 5])
    expect(list.size).toBe(3)
    const walked: Array<number> = []
    for (let node = list.first; node !== undefined; node = node.next) walked.push(node.value)
    expect(walked).toEqual([1, 3, 5])
  })

  it("empties and fills again", () => {
    const list = new LinkedList<number>()
    const nodes = [1, 2, 3].map((value) => list.push(value))
    list.clear()
    expect(nodes.map(links)).toEqual(nodes.map(() => unlinked))
    list.push(1)
    list.shift()
    expect(list.shift()).toBeUndefined()
    expect(list.first).toBeUndefined()
    expect(list.size).toBe(0)
    list.push(2)
    expect([...list]).toEqual([2])
  })
})
