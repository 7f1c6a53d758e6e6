import { describe, expect, it } from "vitest"
import { type Leave, ViewLock, ViewLockStopped } from "../../src/duckdb/InstanceViews.js"

/**
 * A view replaced between a statement's weighing and its binding would be expanded unweighed
 * (issue 13, finding 1's class). The lock keeps the views still over that window.
 */
class Signal {
  private listeners: Array<() => void> = []
  stopped = false
  onStop(listener: () => void) {
    if (this.stopped) {
      listener()
      return () => {}
    }
    this.listeners.push(listener)
    return () => {
      this.listeners = this.listeners.filter((other) => other !== listener)
    }
  }
  stop() {
    this.stopped = true
    for (const listener of this.listeners) listener()
  }
}

const now = (entered: Leave | Promise<Leave>): Leave => {
  if (typeof entered !== "function") throw new Error("expected the place at once")
  return entered
}

/** Whether a pending entry has been granted after the current turn of the event loop. */
const granted = async (entered: Promise<Leave>) => {
  let done = false
  entered.then(
    () => {
      done = true
    },
    () => {
      done = true
    }
  )
  await new Promise((resolve) => setImmediate(resolve))
  return done
}

describe("the view lock", () => {
  it("lets weighed statements in together, at once (no await on the common path)", () => {
    const lock = new ViewLock()
    const first = now(lock.weigh(new Signal()))
    const second = now(lock.weigh(new Signal()))
    first()
    second()
    now(lock.change(new Signal()))()
  })

  it("keeps a view's definition waiting until no statement is between weighing and binding", async () => {
    const lock = new ViewLock()
    const reading = now(lock.weigh(new Signal()))
    const changing = lock.change(new Signal())
    expect(typeof changing).not.toBe("function")
    expect(await granted(changing as Promise<Leave>)).toBe(false)
    reading()
    expect(await granted(changing as Promise<Leave>)).toBe(true)
  })

  it("keeps weighed statements waiting while a view is being defined, and lets them all in after", async () => {
    const lock = new ViewLock()
    const changing = now(lock.change(new Signal()))
    const waiting = [lock.weigh(new Signal()), lock.weigh(new Signal())] as Array<Promise<Leave>>
    expect(waiting.every((entered) => typeof entered !== "function")).toBe(true)
    expect(await granted(waiting[0]!)).toBe(false)
    changing()
    const leaves = await Promise.all(waiting)
    // Both hold the place at once; a definition now waits for both.
    const next = lock.change(new Signal()) as Promise<Leave>
    leaves[0]!()
    expect(await granted(next)).toBe(false)
    leaves[1]!()
    expect(await granted(next)).toBe(true)
  })

  it("lets one definition in at a time", async () => {
    const lock = new ViewLock()
    const first = now(lock.change(new Signal()))
    const second = lock.change(new Signal()) as Promise<Leave>
    expect(await granted(second)).toBe(false)
    first()
    ;(await second)()
  })

  it("ends a wait at once when its query is stopped, and the stopped one never takes the place", async () => {
    const lock = new ViewLock()
    const reading = now(lock.weigh(new Signal()))
    const signal = new Signal()
    const changing = lock.change(signal) as Promise<Leave>
    signal.stop()
    await expect(changing).rejects.toBeInstanceOf(ViewLockStopped)
    reading()
    // The place is free for the next definition: the stopped wait took nothing.
    now(lock.change(new Signal()))()
  })

  it("refuses at once a query already stopped that would have to wait", async () => {
    const lock = new ViewLock()
    now(lock.change(new Signal()))
    const signal = new Signal()
    signal.stop()
    await expect(lock.weigh(signal)).rejects.toBeInstanceOf(ViewLockStopped)
  })

  it("leaves once however often leave is called", async () => {
    const lock = new ViewLock()
    const reading = now(lock.weigh(new Signal()))
    const other = now(lock.weigh(new Signal()))
    reading()
    reading()
    // `other` still holds its place: a definition waits.
    const changing = lock.change(new Signal()) as Promise<Leave>
    expect(await granted(changing)).toBe(false)
    other()
    expect(await granted(changing)).toBe(true)
  })
})
