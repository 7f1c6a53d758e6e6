import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { setTimeout as sleep } from "node:timers/promises"
import { Redis } from "ioredis"
import { freePort, tempDir } from "./Process.js"

/** Debian's redis-server, as `.ci/run` installs it; tests that need it print one skip line without it. */
export const redisInstalled = spawnSync("redis-server", ["--version"]).status === 0

export const skipWithoutRedis = (suite: string): boolean => {
  if (!redisInstalled) {
    console.log(`SKIP ${suite}: redis-server is not installed (apt-get install -y redis-server)`)
  }
  return !redisInstalled
}

export interface RedisServer {
  readonly port: number
  readonly url: string
  /** A client of the test's own (not the server under test's). */
  readonly client: Redis
  /** Stops the server (SIGTERM, nothing saved unless `save` ran). */
  stop(): Promise<void>
  /** Starts it again on the same port and directory: a dump written by `save` is loaded. */
  start(): Promise<void>
  /** Writes a snapshot, so that the next `start` comes back with the same data. */
  save(): Promise<void>
  /** Stops the server for good and closes the client. */
  dispose(): Promise<void>
}

const waitForPing = async (client: Redis) => {
  for (let attempt = 0; ; attempt++) {
    try {
      await client.ping()
      return
    } catch (error) {
      if (attempt > 100) throw error
      await sleep(50)
    }
  }
}

/**
 * A redis-server on loopback and a free port, no persistence of its own (`--save '' --appendonly no`),
 * with a password when given (then in `url`, as `state.redis_url` carries it).
 */
export const startRedis = async (options: { readonly password?: string } = {}): Promise<RedisServer> => {
  const port = await freePort()
  const dir = tempDir("redis")
  let server: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  const auth = options.password === undefined ? [] : ["--requirepass", options.password]
  const client = new Redis({
    host: "127.0.0.1",
    port,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 50,
    ...(options.password === undefined ? {} : { password: options.password })
  })
  // Refused connections while the server is down are expected; commands report them.
  client.on("error", () => undefined)

  const start = async () => {
    const child = spawn(
      "redis-server",
      [
        ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        ...["--dir", dir, ...auth]
      ],
      { stdio: "ignore" }
    )
    server = child
    exited = new Promise((resolve) => child.once("exit", () => resolve()))
    await waitForPing(client)
  }
  const stop = async () => {
    const child = server
    server = undefined
    if (child === undefined || child.exitCode !== null) return
    child.kill("SIGTERM")
    await exited
  }
  await start()
  return {
    port,
    url:
      options.password === undefined
        ? `redis://127.0.0.1:${port}`
        : `redis://:${encodeURIComponent(options.password)}@127.0.0.1:${port}`,
    client,
    stop,
    start,
    save: async () => {
      await client.call("SAVE")
    },
    dispose: async () => {
      client.disconnect()
      await stop()
    }
  }
}
