import { Context, Duration, Effect, Exit, Layer, Scope, TestClock, TestContext } from "effect"
import { LineWriter, type LogSink, LogWriter } from "../../src/services/LogWriter.js"

/** The log writer behind a stdout that never finishes a write (a stuck log shipper, a full pipe). */

export const stuckSink = (): LogSink => ({ write: () => {}, writeSync: () => {} })

/** How many lines of a given length the writer queues behind a stuck stdout before it drops one. */
export const queuedBeforeDropping = (line: string): Promise<number> =>
  new Promise((resolve) => {
    const writer = new LineWriter(stuckSink())
    writer.write("taken by the sink")
    setImmediate(() => {
      let written = 0
      while (writer.droppedTotal === 0) {
        writer.write(line)
        written++
      }
      resolve(written - 1)
    })
  })

/**
 * Whole seconds (on a test clock) that shutdown waits for lines queued behind a stuck stdout;
 * `undefined` when it is still waiting after a minute.
 */
export const shutdownWaitSeconds = (): Promise<number | undefined> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(LogWriter.layerWith(stuckSink()), scope)
      Context.get(context, LogWriter).write("never taken")
      // A daemon: a close that never ends must not hold this test's fiber when it gives up.
      const closing = yield* Effect.forkDaemon(Scope.close(scope, Exit.void))
      for (let seconds = 0; seconds <= 60; seconds++) {
        yield* Effect.yieldNow()
        if (closing.unsafePoll() !== null) return seconds
        yield* TestClock.adjust(Duration.seconds(1))
      }
      return undefined
    }).pipe(Effect.provide(TestContext.TestContext))
  )
