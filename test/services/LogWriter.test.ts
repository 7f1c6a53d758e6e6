import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import {
  fileDescriptorSink,
  LineWriter,
  type LogSink,
  LogWriter,
  memorySink
} from "../../src/services/LogWriter.js"
import { shutdownWaitSeconds } from "../support/StuckStdout.js"

/** A sink that holds each chunk until the test releases it, like a stdout nobody reads. */
const stalledSink = () => {
  const chunks: Array<string> = []
  const pending: Array<() => void> = []
  const sink: LogSink = {
    write: (chunk, done) => {
      chunks.push(chunk)
      pending.push(done)
    },
    writeSync: (chunk) => void chunks.push(chunk)
  }
  const releaseOne = () => pending.shift()?.()
  return { sink, chunks, pending, releaseOne }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe("LineWriter", () => {
  it("batches the lines of one event-loop turn into one write, in order", async () => {
    const stalled = stalledSink()
    const writer = new LineWriter(stalled.sink)
    writer.write("a")
    writer.write("b")
    writer.write("c")
    expect(stalled.chunks).toEqual([]) // nothing written synchronously
    await nextTurn()
    expect(stalled.chunks).toEqual(["a\nb\nc\n"])
    writer.write("d")
    await nextTurn()
    expect(stalled.chunks).toHaveLength(1) // the sink is still busy with the first chunk
    stalled.releaseOne()
    expect(stalled.chunks).toEqual(["a\nb\nc\n", "d\n"])
  })

  it("drops lines beyond the bound and reports the count once there is room", async () => {
    const stalled = stalledSink()
    const writer = new LineWriter(stalled.sink, { maxQueuedLines: 3, now: () => Date.UTC(2024, 0, 15) })
    writer.write("first")
    await nextTurn() // "first" is now being written and the sink stalls
    for (let i = 0; i < 10; i++) writer.write(`line ${i}`)
    expect(writer.droppedTotal).toBe(7)
    stalled.releaseOne()
    const second = stalled.chunks[1]!.trimEnd().split("\n")
    expect(second.slice(0, 3)).toEqual(["line 0", "line 1", "line 2"])
    expect(JSON.parse(second[3]!)).toEqual({
      timestamp: "2024-01-15T00:00:00.000Z",
      level: "warn",
      message: "log lines dropped",
      dropped: 7
    })
    stalled.releaseOne()
    writer.write("after")
    await nextTurn()
    expect(stalled.chunks[2]).toBe("after\n") // one report only
    expect(writer.droppedTotal).toBe(7)
  })

  it("bounds the queue by characters too", async () => {
    const stalled = stalledSink()
    const writer = new LineWriter(stalled.sink, { maxQueuedChars: 100 })
    writer.write("x".repeat(60))
    writer.write("y".repeat(60))
    expect(writer.droppedTotal).toBe(1)
  })

  it("flush resolves only once everything reached the sink", async () => {
    const stalled = stalledSink()
    const writer = new LineWriter(stalled.sink)
    writer.write("a")
    let flushed = false
    const flushing = writer.flush().then(() => {
      flushed = true
    })
    await nextTurn()
    expect(flushed).toBe(false)
    writer.write("b")
    stalled.releaseOne()
    await nextTurn()
    expect(flushed).toBe(false)
    stalled.releaseOne()
    await flushing
    expect(stalled.chunks).toEqual(["a\n", "b\n"])
    await writer.flush() // idle: resolves at once
  })
})

describe("fileDescriptorSink", () => {
  it("writes every byte to the descriptor and reports completion", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pondpilot-log-"))
    const file = path.join(dir, "out.log")
    const fd = fs.openSync(file, "w")
    try {
      const writer = new LineWriter(fileDescriptorSink(fd))
      const lines = Array.from({ length: 2_000 }, (_, i) => JSON.stringify({ i, text: "é".repeat(50) }))
      for (const line of lines) writer.write(line)
      await writer.close()
      expect(fs.readFileSync(file, "utf8")).toBe(`${lines.join("\n")}\n`)
      writer.write("after close")
      expect(fs.readFileSync(file, "utf8")).toBe(`${lines.join("\n")}\nafter close\n`)
    } finally {
      fs.closeSync(fd)
      fs.rmSync(dir, { recursive: true })
    }
  })

  it("gives up quietly when the descriptor is unusable", async () => {
    const writer = new LineWriter(fileDescriptorSink(987_654))
    writer.write("lost")
    await writer.flush()
  })
})

describe("LogWriter layer", () => {
  it.effect("flushes queued lines when its scope closes", () =>
    Effect.gen(function* () {
      const memory = memorySink()
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(LogWriter.layerWith(memory.sink), scope)
      const writer = Context.get(context, LogWriter)
      writer.write("queued at shutdown")
      expect(memory.lines).toEqual([])
      yield* Scope.close(scope, Exit.void)
      expect(memory.lines).toEqual(["queued at shutdown"])
      // After shutdown, lines are written at once: no event-loop turn may follow.
      writer.write("last words")
      expect(memory.lines).toEqual(["queued at shutdown", "last words"])
    })
  )

  it("does not hold shutdown for ever behind a stuck stdout", async () => {
    const waited = await shutdownWaitSeconds()
    expect(waited).toBeDefined()
    expect(waited).toBeGreaterThan(0) // it does wait for the lines a while
  })
})
