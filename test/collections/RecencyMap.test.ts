import { describe, expect, it } from "vitest"
import { RecencyMap } from "../../src/collections/RecencyMap.js"

const keys = <K, V>(map: RecencyMap<K, V>) => [...map.entries()].map(([key]) => key)

describe("RecencyMap", () => {
  it("orders keys by last use, oldest first: use and set move a key last, peek does not", () => {
    const map = new RecencyMap<string, number>()
    map.set("a", 1)
    map.set("b", 2)
    map.set("c", 3)
    expect(map.use("a")).toBe(1)
    expect(keys(map)).toEqual(["b", "c", "a"])
    expect(map.peek("b")).toBe(2)
    expect(keys(map)).toEqual(["b", "c", "a"])
    map.set("b", 20)
    expect(keys(map)).toEqual(["c", "a", "b"])
    expect(map.peek("b")).toBe(20)
    expect(map.oldest()).toEqual(["c", 3])
    expect(map.size).toBe(3)
  })

  it("deletes, also while iterating", () => {
    const map = new RecencyMap<number, string>()
    for (let i = 0; i < 5; i++) map.set(i, `v${i}`)
    expect(map.delete(9)).toBe(false)
    expect(map.delete(2)).toBe(true)
    for (const [key] of map.entries()) if (key < 2) map.delete(key)
    expect(keys(map)).toEqual([3, 4])
    expect(map.use(0)).toBeUndefined()
    expect(map.size).toBe(2)
    map.delete(3)
    map.delete(4)
    expect(map.oldest()).toBeUndefined()
  })
})
