import { spawn } from "node:child_process"
import { setTimeout as sleep } from "node:timers/promises"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { client, rowsOf } from "../support/Databases.js"
import { query, send, within } from "../support/QueryClient.js"
import type { RunningServer } from "../support/TestServer.js"
import {
  mariaUri,
  pgUri,
  startUpstreamProxy,
  startUpstreamWorld,
  type UpstreamWorld,
  upstreamPrerequisites
} from "../support/UpstreamServer.js"

/**
 * A million-row PostgreSQL table through the API of an in-process server: a point lookup that the
 * upstream answers from its index (its own statistics say so), a million-row result streaming in
 * flat memory in every format, and a deadline, a cancel or a disconnect that stops the upstream's
 * statement too (PostgreSQL's pg_stat_activity, MariaDB's processlist), and only ours.
 */
const prerequisites = upstreamPrerequisites("upstream scale")
const rows = 1_000_000
let world: UpstreamWorld
let api: ReturnType<typeof client>
let instance: string

beforeAll(async () => {
  if (prerequisites === undefined) return
  world = await startUpstreamWorld(prerequisites, {
    query: { timeout: "2m", max_rows: 10_000_000 },
    duckdb: { settings: { threads: 2 } }
  })
  api = client(world.server)
  await world.pg.sql(
    "lab",
    `CREATE TABLE big AS SELECT i AS id, md5(i::text) AS name, i % 1000 AS k FROM generate_series(1, ${rows}) i;` +
      "ALTER TABLE big ADD PRIMARY KEY (id);" +
      // Minutes of work for PostgreSQL, a few rows for the client.
      "CREATE VIEW slow AS SELECT 1 AS s FROM pg_sleep(60);"
  )
  await world.pg.sql("lab", "ANALYZE big")
  await world.maria.sql(
    "USE lab; CREATE VIEW slow AS SELECT SLEEP(60) AS s; CREATE VIEW nap AS SELECT SLEEP(8) AS s UNION ALL SELECT 7;"
  )
  instance = await api.createInstance()
  for (const [type, alias, connectionString] of [
    ["postgres", "pg", pgUri(world.pg)],
    ["mysql", "my", mariaUri(world.maria)]
  ] as const) {
    const attached = await api.attach(instance, { type, alias, connectionString })
    expect(attached.status, attached.text).toBe(201)
  }
}, 300_000)
afterAll(() => world?.stop(), 60_000)

/** The table's scan counters, once PostgreSQL has published what its backends did (up to ~10 s late). */
const pgStats = async () => {
  const [seqTuples, indexScans] = (
    await world.pg.sql(
      "lab",
      "SELECT seq_tup_read, coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'big'"
    )
  )
    .trim()
    .split("|")
    .map(Number)
  return { seqTuples: seqTuples!, indexScans: indexScans! }
}

/** The counters after `sql` ran, waiting until they move (backends flush their statistics when idle). */
const statsAfter = async (sql: string) => {
  const before = await pgStats()
  const started = Date.now()
  const answer = await api.query(instance, sql)
  const millis = Date.now() - started
  let after = before
  await within(20_000, async () => {
    after = await pgStats()
    return after.seqTuples !== before.seqTuples || after.indexScans !== before.indexScans
  })
  // One more flush interval, in case the scan's statistics arrive in two parts.
  await sleep(1_500)
  after = await pgStats()
  return {
    answer,
    millis,
    seqTuples: after.seqTuples - before.seqTuples,
    indexScans: after.indexScans - before.indexScans
  }
}

/** PostgreSQL statements of the `lab` database that are running now (not this one). */
const pgRunning = async () =>
  (
    await world.pg.sql(
      "postgres",
      "SELECT query FROM pg_stat_activity WHERE datname = 'lab' AND state <> 'idle' AND pid <> pg_backend_pid()"
    )
  ).trim()

const mariaRunning = async () =>
  (
    await world.maria.sql(
      "SELECT info FROM information_schema.processlist WHERE user = 'lab' AND command <> 'Sleep' AND id <> connection_id()"
    )
  ).trim()

const measured: Array<string> = []
afterAll(() => console.info(`[upstream scale] measured:\n${measured.join("\n")}`))

describe.skipIf(prerequisites === undefined)(
  "pushdown: a point lookup on a million-row PostgreSQL table",
  () => {
    it("is answered from PostgreSQL's primary-key index, reading no row sequentially", async () => {
      const lookup = await statsAfter("SELECT name FROM pg.public.big WHERE id = 123456")
      expect(rowsOf(lookup.answer)).toEqual([["e10adc3949ba59abbe56e057f20f883e"]])
      // The scanner splits a table into ctid ranges and sends the filter with each: every range is
      // an index probe, none a scan. With the server's pg_pages_per_task a table up to 8 GB is one
      // range, so one probe (the scanner's default made ~10 of this table).
      expect(lookup.seqTuples).toBe(0)
      expect(lookup.indexScans).toBe(1)
      // The contrast: a filter on an unindexed column makes PostgreSQL read every row.
      const scan = await statsAfter("SELECT count(*) FROM pg.public.big WHERE name = 'nothing'")
      expect(rowsOf(scan.answer)).toEqual([[0]])
      expect(scan.seqTuples).toBeGreaterThanOrEqual(rows)
      measured.push(
        `point lookup: ${lookup.millis} ms, ${lookup.indexScans} index scans, ${lookup.seqTuples} rows read sequentially`,
        `unindexed filter: ${scan.millis} ms, ${scan.seqTuples} rows read sequentially`
      )
    }, 90_000)
  }
)

/** Resident memory of this process (the server runs in it), in MiB. */
const rssMiB = () => process.memoryUsage.rss() / 2 ** 20

/** Reads a response to its end keeping only counts, while sampling the RSS. */
const drain = async (sql: string, format: string) => {
  let peak = rssMiB()
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMiB())
  }, 20)
  let newlines = 0
  try {
    const response = await send(
      `${world.server.url}/v1/instances/${instance}/query?format=${format}`,
      { query: sql },
      {
        keep: 64 * 1024,
        onData: (piece) => {
          for (let at = piece.indexOf(10); at !== -1; at = piece.indexOf(10, at + 1)) newlines++
          return true
        }
      }
    )
    return { response, newlines, peak: Math.max(peak, rssMiB()) }
  } finally {
    clearInterval(timer)
  }
}

describe.skipIf(prerequisites === undefined)("streaming a million upstream rows", () => {
  // 1M rows of about 330 bytes: some 330 MB of CSV, more as JSON.
  const wide = "SELECT id, name, k, repeat(name, 9) AS pad FROM pg.public.big"
  const limitMiB = 250

  it.each(["csv", "ndjson", "json", "arrow"])("%s: the whole result, in flat memory", async (format) => {
    global.gc?.()
    const baseline = rssMiB()
    const { response, newlines, peak } = await drain(wide, format)
    expect(response.status).toBe(200)
    expect(response.complete).toBe(true)
    if (format === "csv") expect(newlines).toBe(rows + 1)
    if (format === "ndjson") expect(newlines).toBe(rows)
    measured.push(`${format}: RSS ${baseline.toFixed(0)} MiB before, peak ${peak.toFixed(0)} MiB`)
    expect(peak - baseline).toBeLessThan(limitMiB)
  }, 120_000)
})

describe.skipIf(prerequisites === undefined)("a deadline or a cancel stops the upstream's statement", () => {
  const deadlineMillis = 3_000
  let strict: RunningServer
  let strictApi: ReturnType<typeof client>
  let strictInstance: string
  beforeAll(async () => {
    strict = await startUpstreamProxy(prerequisites!, world.work, {
      query: { timeout: `${deadlineMillis}ms` },
      duckdb: { settings: { threads: 2 } }
    })
    strictApi = client(strict)
    strictInstance = await strictApi.createInstance()
    for (const [type, alias, connectionString] of [
      ["postgres", "pg", pgUri(world.pg)],
      ["mysql", "my", mariaUri(world.maria)]
    ] as const) {
      expect((await strictApi.attach(strictInstance, { type, alias, connectionString })).status).toBe(201)
    }
  })
  afterAll(() => strict?.dispose())

  const listed = async () =>
    (
      JSON.parse((await send(`${strict.url}/v1/queries`, undefined)).body.toString("utf8")) as {
        queries: Array<{ id: string }>
      }
    ).queries

  it("PostgreSQL, query.timeout: 504, and nothing left running in pg_stat_activity", async () => {
    const started = Date.now()
    const answer = await strictApi.query(strictInstance, "SELECT * FROM pg.public.slow")
    expect(answer.status, answer.text).toBe(504)
    expect(answer.body.code).toBe("query_timeout")
    const answeredAfter = Date.now() - started
    const gone = await within(10_000, async () => (await pgRunning()) === "")
    measured.push(`PostgreSQL timeout: answered after ${answeredAfter} ms, upstream idle ${gone} ms later`)
  }, 60_000)

  it("MariaDB, query.timeout: 504, and the server stops the statement upstream (KILL QUERY) within seconds", async () => {
    const started = Date.now()
    const answer = await strictApi.query(strictInstance, "SELECT * FROM my.lab.slow")
    expect(answer.status, answer.text).toBe(504)
    expect(answer.body.code).toBe("query_timeout")
    const answeredAfter = Date.now() - started
    const gone = await within(10_000, async () => (await mariaRunning()) === "")
    measured.push(`MariaDB timeout: answered after ${answeredAfter} ms, upstream idle ${gone} ms later`)
  }, 60_000)

  it("MariaDB, DELETE /v1/queries/{id}: 409, and the statement stopped upstream within seconds", async () => {
    const pending = query(strict.url, strictInstance, { query: "SELECT * FROM my.lab.slow" })
    await within(5_000, async () => (await mariaRunning()).includes("slow"))
    const [running] = await listed()
    const cancelledAt = Date.now()
    const cancelled = await send(`${strict.url}/v1/queries/${running!.id}`, undefined, { method: "DELETE" })
    expect(cancelled.status).toBe(204)
    expect((await pending).status).toBe(409)
    const gone = await within(10_000, async () => (await mariaRunning()) === "")
    measured.push(
      `MariaDB cancel: upstream idle ${Date.now() - cancelledAt} ms after the cancel (${gone} ms after the answer)`
    )
    expect(Date.now() - cancelledAt).toBeLessThan(deadlineMillis + 5_000)
  }, 60_000)

  it("MariaDB: a later query's statement on the same instance is left alone when an earlier one is stopped", async () => {
    // On the two-minute server, so that no deadline meddles: the earlier query is cancelled while
    // the later one's statement runs, and the later one must still finish with its rows.
    const queries = async () =>
      (
        JSON.parse((await send(`${world.server.url}/v1/queries`, undefined)).body.toString("utf8")) as {
          queries: Array<{ id: string }>
        }
      ).queries
    /** Waits for `check` on MariaDB's processlist; on timeout, says which step and what ran. */
    const until = async (step: string, check: (running: string) => boolean) => {
      try {
        await within(20_000, async () => check(await mariaRunning()))
      } catch {
        throw new Error(`${step}: MariaDB ran ${JSON.stringify(await mariaRunning())}`)
      }
    }
    const first = query(world.server.url, instance, { query: "SELECT * FROM my.lab.slow" })
    await until("the earlier statement starts", (running) => running.includes("slow"))
    const [earlier] = await queries()
    // The server tells the two apart by when their statements started, with a quarter second of
    // slack for the clocks; a later query closer than that keeps the earlier statement alive.
    await sleep(1_000)
    const second = query(world.server.url, instance, { query: "SELECT s FROM my.lab.nap ORDER BY s" })
    await until("the later statement starts", (running) => running.includes("nap"))
    const cancelled = await send(`${world.server.url}/v1/queries/${earlier!.id}`, undefined, {
      method: "DELETE"
    })
    expect(cancelled.status).toBe(204)
    expect((await first).status).toBe(409)
    await until("the earlier statement is stopped", (running) => !running.includes("slow"))
    expect(await mariaRunning()).toContain("nap")
    const answer = await second
    expect(answer.status, answer.body.toString("utf8")).toBe(200)
    expect(JSON.parse(answer.body.toString("utf8")).rows).toEqual([[0], [7]])
  }, 60_000)
})

describe.skipIf(prerequisites === undefined)(
  "a cancel or a disconnect stops PostgreSQL's statement at once",
  () => {
    // On the two-minute server, so that the deadline (PostgreSQL's statement_timeout) cannot be what
    // stops the statement: the server's own pg_cancel_backend must. As a role without superuser, which
    // may cancel only its own backends.
    const role = { user: "plain", password: "plain-pw" }
    const pgRoleUri = () =>
      `postgresql://${role.user}:${role.password}@127.0.0.1:${world.pg.port}/lab?sslmode=disable`
    let stopInstance: string
    /** The same database, attached with an application_name of the client's choosing. */
    let namedInstance: string
    beforeAll(async () => {
      await world.pg.sql(
        "lab",
        `CREATE ROLE ${role.user} LOGIN PASSWORD '${role.password}';` +
          `GRANT SELECT ON slow TO ${role.user};` +
          "CREATE VIEW nap AS SELECT 7 AS s FROM pg_sleep(8);" +
          `GRANT SELECT ON nap TO ${role.user}`
      )
      stopInstance = await api.createInstance()
      namedInstance = await api.createInstance()
      for (const [instance, connectionString] of [
        [stopInstance, pgRoleUri()],
        [namedInstance, `${pgRoleUri()}&application_name=client-named`]
      ] as const) {
        const attached = await api.attach(instance, { type: "postgres", alias: "pg", connectionString })
        expect(attached.status, attached.text).toBe(201)
      }
    })

    /** `application_name|query` of each statement PostgreSQL runs in `lab` (not this one). */
    const statements = async () =>
      (
        await world.pg.sql(
          "postgres",
          "SELECT application_name || '|' || query FROM pg_stat_activity " +
            "WHERE datname = 'lab' AND state = 'active' AND pid <> pg_backend_pid()"
        )
      )
        .trim()
        .split("\n")
        .filter((line) => line !== "")
    const running = async (text: string) => (await statements()).some((line) => line.includes(text))

    /** Waits for `check` on pg_stat_activity; on timeout, says which step and what ran. */
    const until = async (step: string, timeoutMs: number, check: () => Promise<boolean>) => {
      try {
        return await within(timeoutMs, check)
      } catch {
        throw new Error(`${step}: PostgreSQL ran ${JSON.stringify(await statements())}`)
      }
    }

    /** The id of the query running on `stopInstance` (one at a time there). */
    const runningId = async () => {
      const listed = JSON.parse(
        (await send(`${world.server.url}/v1/queries`, undefined)).body.toString("utf8")
      ) as {
        queries: Array<{ id: string; instanceId: string }>
      }
      const ours = listed.queries.filter((q) => q.instanceId === stopInstance)
      expect(ours).toHaveLength(1)
      return ours[0]!.id
    }

    /** Another program on PostgreSQL as the same role, in the same database. */
    const psql = (applicationName: string, sql: string) =>
      new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
        const child = spawn(
          prerequisites!.binaries.psql,
          ["-h", "127.0.0.1", "-p", String(world.pg.port), "-U", role.user, "-d", "lab", "-qAt", "-c", sql],
          {
            env: { ...process.env, PGPASSWORD: role.password, PGAPPNAME: applicationName },
            stdio: ["ignore", "ignore", "pipe"]
          }
        )
        let stderr = ""
        child.stderr.on("data", (piece: Buffer) => {
          stderr += piece.toString("utf8")
        })
        child.on("error", reject)
        child.on("close", (code) => resolve({ code, stderr }))
      })

    /** The slow query's statement as PostgreSQL shows it (the scanner's COPY of the view). */
    const slowStatement = 'FROM "public"."slow"'

    /** Starts the slow query (on `stopInstance` unless told) and waits until PostgreSQL runs its statement. */
    const startSlow = async (options: { signal?: AbortSignal; instance?: string } = {}) => {
      const pending = query(
        world.server.url,
        options.instance ?? stopInstance,
        { query: "SELECT * FROM pg.public.slow" },
        options.signal === undefined ? {} : { signal: options.signal }
      )
      await until("the statement starts", 10_000, () => running(slowStatement))
      return { pending }
    }

    it("DELETE /v1/queries/{id}: 409, and the statement gone from pg_stat_activity within seconds", async () => {
      const { pending } = await startSlow()
      const id = await runningId()
      const cancelledAt = Date.now()
      const cancelled = await send(`${world.server.url}/v1/queries/${id}`, undefined, { method: "DELETE" })
      expect(cancelled.status).toBe(204)
      expect((await pending).status).toBe(409)
      const gone = await until(
        "the statement is stopped",
        20_000,
        async () => !(await running(slowStatement))
      )
      const after = Date.now() - cancelledAt
      measured.push(
        `PostgreSQL cancel: upstream idle ${after} ms after the cancel (${gone} ms after the answer)`
      )
      // About a second: half a second of grace for DuckDB to let go, then a private engine attaches
      // and cancels. The deadline is two minutes away.
      expect(after).toBeLessThan(5_000)
    }, 60_000)

    it("a client that disconnects: the statement gone from pg_stat_activity within seconds", async () => {
      const abort = new AbortController()
      const { pending } = await startSlow({ signal: abort.signal })
      const leftAt = Date.now()
      abort.abort()
      expect((await pending).error).toBe("aborted")
      await until("the statement is stopped", 20_000, async () => !(await running(slowStatement)))
      const after = Date.now() - leftAt
      measured.push(`PostgreSQL disconnect: upstream idle ${after} ms after the client left`)
      expect(after).toBeLessThan(5_000)
    }, 60_000)

    it("with an application_name the connection string gave: the server's connections use it, and are stopped", async () => {
      const abort = new AbortController()
      const { pending } = await startSlow({ signal: abort.signal, instance: namedInstance })
      expect(await statements()).toEqual([expect.stringMatching(/^client-named\|COPY /)])
      abort.abort()
      expect((await pending).error).toBe("aborted")
      const leftAt = Date.now()
      await until("the statement is stopped", 20_000, async () => !(await running(slowStatement)))
      expect(Date.now() - leftAt).toBeLessThan(5_000)
    }, 60_000)

    it("leaves alone the same role's statements that started before the query, or come from another program", async () => {
      // Named like the server's connections, but started before the query: outside the window.
      const earlier = psql("pondpilot-proxy", "SELECT 'earlier', pg_sleep(10)")
      await until("the earlier statement starts", 10_000, () => running("'earlier'"))
      // The server tells statements apart by when they started, with a quarter second of slack.
      await sleep(1_000)
      const { pending } = await startSlow()
      // Inside the window, but another program's (its application_name).
      const other = psql("another-program", "SELECT 'other', pg_sleep(8)")
      await until("the other statement starts", 10_000, () => running("'other'"))
      const cancelled = await send(`${world.server.url}/v1/queries/${await runningId()}`, undefined, {
        method: "DELETE"
      })
      expect(cancelled.status).toBe(204)
      expect((await pending).status).toBe(409)
      await until("the statement is stopped", 20_000, async () => !(await running(slowStatement)))
      expect(await running("'earlier'")).toBe(true)
      expect(await running("'other'")).toBe(true)
      expect(await earlier).toEqual({ code: 0, stderr: "" })
      expect(await other).toEqual({ code: 0, stderr: "" })
    }, 60_000)

    it("leaves alone a query that starts on the same instance while the stop is under way", async () => {
      // The main instance holds PostgreSQL and MariaDB: the server stops our statements on both, one
      // private engine after the other, so MariaDB is asked a second or so after the stop. A query
      // sent as soon as the cancel is answered starts its MariaDB statement before that.
      const first = query(world.server.url, instance, { query: "SELECT * FROM pg.public.slow" })
      await until("the statement starts", 10_000, () => running(slowStatement))
      const listed = JSON.parse(
        (await send(`${world.server.url}/v1/queries`, undefined)).body.toString("utf8")
      ) as {
        queries: Array<{ id: string; instanceId: string }>
      }
      const earlier = listed.queries.find((q) => q.instanceId === instance)
      const cancelled = await send(`${world.server.url}/v1/queries/${earlier!.id}`, undefined, {
        method: "DELETE"
      })
      expect(cancelled.status).toBe(204)
      expect((await first).status).toBe(409)
      const answer = await query(world.server.url, instance, { query: "SELECT s FROM my.lab.nap ORDER BY s" })
      expect(answer.status, answer.body.toString("utf8")).toBe(200)
      expect(JSON.parse(answer.body.toString("utf8")).rows).toEqual([[0], [7]])
      expect(await running(slowStatement)).toBe(false)
    }, 60_000)

    it("leaves alone a later query's statement on the same instance when an earlier one is stopped", async () => {
      const { pending: first } = await startSlow()
      const earlierId = await runningId()
      await sleep(1_000)
      const second = query(world.server.url, stopInstance, { query: "SELECT s FROM pg.public.nap" })
      await until("the later statement starts", 10_000, () => running('FROM "public"."nap"'))
      const cancelled = await send(`${world.server.url}/v1/queries/${earlierId}`, undefined, {
        method: "DELETE"
      })
      expect(cancelled.status).toBe(204)
      expect((await first).status).toBe(409)
      await until("the earlier statement is stopped", 20_000, async () => !(await running(slowStatement)))
      expect(await running('FROM "public"."nap"')).toBe(true)
      const answer = await second
      expect(answer.status, answer.body.toString("utf8")).toBe(200)
      expect(JSON.parse(answer.body.toString("utf8")).rows).toEqual([[7]])
    }, 60_000)
  }
)
