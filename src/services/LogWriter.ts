import * as fs from "node:fs"
import { Context, Duration, Effect, Layer } from "effect"

/**
 * Where log text ends up. `write` takes a chunk of whole lines and calls `done` once it is written
 * (or given up on); the writer never hands over the next chunk before that, so a slow or stuck
 * consumer holds lines in the writer's bounded queue instead of in memory it cannot see.
 * `writeSync` serves the last lines after shutdown, when nothing asynchronous runs any more.
 */
export interface LogSink {
  readonly write: (chunk: string, done: () => void) => void
  readonly writeSync: (chunk: string) => void
}

const retryAfterMs = 20

/**
 * Writes through `fs.write` on the descriptor, which runs on libuv's thread pool: a stdout whose
 * reader is slow blocks a pool thread, never the event loop (`process.stdout` writes to pipes and
 * files synchronously on Linux and would stall every request).
 */
export const fileDescriptorSink = (fd: number): LogSink => ({
  write: (chunk, done) => {
    let pending = Buffer.from(chunk, "utf8")
    const attempt = () =>
      fs.write(fd, pending, 0, pending.length, null, (error, written) => {
        if (error) {
          // A non-blocking descriptor (a terminal) that is full: try again shortly.
          if (error.code === "EAGAIN") return void setTimeout(attempt, retryAfterMs)
          // The reader is gone (EPIPE) or the descriptor is closed: nobody is left to tell.
          return done()
        }
        pending = pending.subarray(written)
        if (pending.length > 0) attempt()
        else done()
      })
    attempt()
  },
  writeSync: (chunk) => {
    let pending = Buffer.from(chunk, "utf8")
    try {
      while (pending.length > 0) pending = pending.subarray(fs.writeSync(fd, pending))
    } catch {
      // Nobody to tell: see above.
    }
  }
})

/** Keeps every line in memory, for tests. */
export const memorySink = (): { readonly sink: LogSink; readonly lines: Array<string> } => {
  const lines: Array<string> = []
  return {
    lines,
    sink: {
      write: (chunk, done) => {
        for (const line of chunk.split("\n")) if (line !== "") lines.push(line)
        done()
      },
      writeSync: (chunk) => {
        for (const line of chunk.split("\n")) if (line !== "") lines.push(line)
      }
    }
  }
}

export interface LineWriterOptions {
  /** Lines held while the sink is busy; further lines are dropped (and counted). */
  readonly maxQueuedLines?: number
  /** Characters held while the sink is busy (a line's length, close to its bytes for ASCII logs). */
  readonly maxQueuedChars?: number
  /** Clock for the dropped-lines warning's timestamp. */
  readonly now?: () => number
}

/**
 * The one writer behind every log line. Callers append a line synchronously and return; lines are
 * joined and handed to the sink once per event-loop turn. The queue is bounded: when the sink falls
 * behind, new lines are dropped and counted, and one warning line says how many once the queue has
 * room again. Logging therefore never blocks nor grows memory without limit.
 */
export class LineWriter {
  private queue: Array<string> = []
  private queuedChars = 0
  private scheduled = false
  private writing = false
  private droppedSinceReport = 0
  private droppedEver = 0
  private closed = false
  private readonly idleWaiters: Array<() => void> = []
  private readonly maxLines: number
  private readonly maxChars: number
  private readonly now: () => number

  constructor(
    private readonly sink: LogSink,
    options: LineWriterOptions = {}
  ) {
    this.maxLines = options.maxQueuedLines ?? 10_000
    this.maxChars = options.maxQueuedChars ?? 8_000_000
    this.now = options.now ?? Date.now
  }

  /** Lines dropped since start because the queue was full. */
  get droppedTotal(): number {
    return this.droppedEver
  }

  /** Appends one line (without its newline). Never throws, never waits (until closed). */
  write(line: string): void {
    if (this.closed) {
      this.sink.writeSync(`${line}\n`)
      return
    }
    if (this.queue.length >= this.maxLines || this.queuedChars + line.length > this.maxChars) {
      this.droppedSinceReport++
      this.droppedEver++
      return
    }
    this.queue.push(line)
    this.queuedChars += line.length + 1
    this.schedule()
  }

  /** Resolves once every line written so far has reached the sink. */
  flush(): Promise<void> {
    if (!this.writing && this.queue.length === 0 && this.droppedSinceReport === 0) return Promise.resolve()
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve)
      if (!this.writing) this.writeBatch()
    })
  }

  /**
   * Flushes, then writes any later line synchronously: after shutdown no event-loop turn may come
   * (the runtime's last error report is logged just before the process exits).
   */
  async close(): Promise<void> {
    await this.flush()
    this.closed = true
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.writeBatch()
    })
  }

  private writeBatch(): void {
    if (this.writing) return
    if (this.queue.length === 0 && this.droppedSinceReport === 0) {
      this.notifyIdle()
      return
    }
    const batch = this.queue
    this.queue = []
    this.queuedChars = 0
    // The queue has room again: say what was lost, right after the lines that were kept.
    if (this.droppedSinceReport > 0) {
      batch.push(
        JSON.stringify({
          timestamp: new Date(this.now()).toISOString(),
          level: "warn",
          message: "log lines dropped",
          dropped: this.droppedSinceReport
        })
      )
      this.droppedSinceReport = 0
    }
    this.writing = true
    this.sink.write(`${batch.join("\n")}\n`, () => {
      this.writing = false
      if (this.queue.length > 0 || this.droppedSinceReport > 0) this.writeBatch()
      else this.notifyIdle()
    })
  }

  private notifyIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve()
  }
}

/** How long shutdown waits for queued lines to reach a stuck stdout before giving up on them. */
const flushTimeout = Duration.seconds(3)

/** The server's single `LineWriter`; its finalizer flushes what is queued, then writes synchronously. */
export class LogWriter extends Context.Tag("pondpilot/LogWriter")<LogWriter, LineWriter>() {
  static readonly layerWith = (sink: LogSink, options: LineWriterOptions = {}): Layer.Layer<LogWriter> =>
    Layer.scoped(
      LogWriter,
      Effect.acquireRelease(
        Effect.clockWith((clock) =>
          Effect.sync(() => new LineWriter(sink, { now: () => clock.unsafeCurrentTimeMillis(), ...options }))
        ),
        // A stuck stdout does not hold shutdown beyond the timeout (the lines are then lost). A
        // finalizer runs uninterruptibly: without `interruptible` the timeout could not end the wait.
        (writer) =>
          Effect.promise(() => writer.close()).pipe(Effect.interruptible, Effect.timeoutOption(flushTimeout))
      )
    )

  /** Lines to stdout (file descriptor 1). */
  static readonly layer: Layer.Layer<LogWriter> = LogWriter.layerWith(fileDescriptorSink(1))
}
