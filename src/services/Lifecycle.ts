import { type Duration, Effect } from "effect"

/**
 * Whether the server is taking work, and how much it has in flight: readiness fails and new
 * requests are turned away as soon as draining starts, while in-flight ones may finish.
 */
export class Lifecycle extends Effect.Service<Lifecycle>()("pondpilot/Lifecycle", {
  sync: () => {
    let draining = false
    let inFlight = 0
    const idleWaiters = new Set<() => void>()
    return {
      // Methods, not getters: Effect.Service copies the object's properties once.
      isDraining: () => draining,
      inFlight: () => inFlight,
      beginDrain: Effect.sync(() => {
        draining = true
      }),
      enter: () => {
        inFlight++
      },
      leave: () => {
        inFlight--
        if (inFlight === 0) for (const wake of idleWaiters) wake()
      },
      /**
       * Succeeds with true once nothing is in flight, or false when `timeout` passes first. It is
       * interruptible even inside a finalizer, where shutdown calls it, so that the timeout can win.
       */
      awaitIdle: (timeout: Duration.Duration): Effect.Effect<boolean> =>
        Effect.async<boolean>((resume) => {
          if (inFlight === 0) return resume(Effect.succeed(true))
          const wake = () => resume(Effect.succeed(true))
          idleWaiters.add(wake)
          return Effect.sync(() => idleWaiters.delete(wake))
        }).pipe(
          Effect.interruptible,
          Effect.timeoutTo({ duration: timeout, onTimeout: () => false, onSuccess: (idle) => idle })
        )
    }
  }
}) {}
