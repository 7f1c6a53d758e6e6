import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  catalogState,
  comparable,
  expectError,
  expectHealthy,
  instanceState,
  listFiles,
  makeAttachedFile,
  makeWatchedDir,
  materializer,
  postQuery,
  type ServerSide,
  serverSide,
  type WatchedDir
} from "../support/Hostile.js"
import { json, type RunningServer, startServer, testSettings } from "../support/TestServer.js"
import { adversarialCorpus, type CorpusEntry, type Outcome } from "./corpus.js"
import { serverSetupSql } from "./fixture.js"
import { legitimateCorpus, readsAfterWrites, writeCorpus } from "./legitimateCorpus.js"

/**
 * The gate corpora (test/gate) through the HTTP API, on three targets: an instance of one's own with
 * `security.read_only: false`, the shared `default` instance of the same server (read-only for clients
 * whatever the setting), and an instance of one's own on a server with `security.read_only: true`.
 * Each target has a DuckDB file attached as `att` (to `default` by the config, to the others through
 * the API) and the corpora's memory tables, made on the server's side.
 *
 * After every entry: the expected status and code, the server healthy, no file written or changed in
 * the watched directory (the process's working directory, where relative paths land), and the
 * instance's settings and catalog as before. Resource bombs are left to test/e2e/security.test.ts,
 * which runs them against the built server under the launcher's address-space limit: here they would
 * share the test runner's memory.
 */

const hostile = adversarialCorpus.filter((entry) => entry.resourceBomb !== true)

const statusOf: Record<Exclude<Outcome, "ok">, number> = {
  forbidden_statement: 403,
  read_only: 403,
  invalid_request: 400,
  sql_error: 400,
  statement_too_large: 400
}

interface Target {
  readonly name: string
  readonly readOnly: boolean
  url: string
  instanceId: string
  attachedPath: string
  side: ServerSide
}

let watched: WatchedDir
let filesAtStart: Record<string, string>
let previousCwd: string
let readWriteServer: RunningServer
let readOnlyServer: RunningServer
const targets: Array<Target> = []

const createInstance = async (server: RunningServer, attachedPath: string) => {
  const created = await fetch(`${server.url}/v1/instances`, json({}))
  expect(created.status).toBe(201)
  const { id } = (await created.json()) as { id: string }
  const attached = await fetch(
    `${server.url}/v1/instances/${id}/databases`,
    json({ type: "duckdb", alias: "att", connectionString: attachedPath })
  )
  expect(attached.status, await attached.clone().text()).toBe(201)
  return id
}

const prepareTarget = async (
  name: string,
  server: RunningServer,
  instanceId: string,
  attachedPath: string,
  readOnly: boolean
) => {
  const side = await serverSide(server, instanceId)
  for (const sql of serverSetupSql) await side.run(sql)
  targets.push({ name, readOnly, url: server.url, instanceId, attachedPath, side })
}

beforeAll(async () => {
  watched = makeWatchedDir("corpus")
  previousCwd = process.cwd()
  // The in-process server's DuckDB resolves relative paths against this process's directory.
  process.chdir(watched.dir)
  const files = {
    readWrite: path.join(watched.dir, "att-rw.duckdb"),
    shared: path.join(watched.dir, "att-default.duckdb"),
    readOnly: path.join(watched.dir, "att-ro.duckdb")
  }
  for (const file of Object.values(files)) await makeAttachedFile(file)
  filesAtStart = listFiles(watched.dir)
  const duckdb = { file_roots: [watched.dir], settings: { threads: 2, memory_limit: "512MB" } }
  readWriteServer = await startServer(
    testSettings({
      duckdb: {
        ...duckdb,
        attached_databases: [{ alias: "att", type: "duckdb", connection_string: files.shared }]
      }
    })
  )
  readOnlyServer = await startServer(testSettings({ duckdb, security: { read_only: true } }))
  await prepareTarget(
    "own instance, read_only: false",
    readWriteServer,
    await createInstance(readWriteServer, files.readWrite),
    files.readWrite,
    false
  )
  await prepareTarget("shared default instance", readWriteServer, "default", files.shared, true)
  await prepareTarget(
    "own instance, read_only: true",
    readOnlyServer,
    await createInstance(readOnlyServer, files.readOnly),
    files.readOnly,
    true
  )
})

afterAll(async () => {
  for (const target of targets) target.side.release()
  await readWriteServer?.dispose()
  await readOnlyServer?.dispose()
  process.chdir(previousCwd)
  watched?.remove()
})

const targetNamed = (name: string) => targets.find((target) => target.name === name)!

const runEntry = async (target: Target, entry: CorpusEntry) => {
  const sql = materializer(watched, target.attachedPath)(entry.sql)
  const expected = target.readOnly ? entry.readOnly : entry.readWrite
  const filesBefore = listFiles(watched.dir)
  const stateBefore = await catalogState(target.side)
  const response = await postQuery(target.url, target.instanceId, sql)
  if (expected === "ok") {
    expect(response.status, await response.clone().text()).toBe(200)
    await response.body?.cancel()
  } else {
    const payload = await expectError(response, statusOf[expected], expected)
    expect(payload.error).not.toMatch(/\n\s+at\s|\.ts:\d+/)
    if (expected === "forbidden_statement" && entry.mentions !== undefined) {
      expect(payload.error).toContain(entry.mentions)
    }
    if (expected === "read_only") expect(payload.error).toContain("read-only")
  }
  await expectHealthy(target.url)
  expect(listFiles(watched.dir)).toEqual(filesBefore)
  expect(await catalogState(target.side)).toBe(stateBefore)
}

const targetNames = [
  "own instance, read_only: false",
  "shared default instance",
  "own instance, read_only: true"
]

describe.each(targetNames)("%s", (name) => {
  describe(`adversarial corpus (${hostile.length} entries; resource bombs run in e2e)`, () => {
    let before: string
    it("(settings and functions recorded first)", async () => {
      before = await instanceState(targetNamed(name).side)
    })
    for (const entry of hostile) {
      it(entry.name, async () => {
        await runEntry(targetNamed(name), entry)
      })
    }
    it("left every setting and function as it was", async () => {
      expect(await instanceState(targetNamed(name).side)).toBe(before)
    })
  })

  describe("legitimate corpus", () => {
    for (const entry of legitimateCorpus) {
      it(entry.name, async () => {
        const target = targetNamed(name)
        const filesBefore = listFiles(watched.dir)
        const response = await postQuery(target.url, target.instanceId, entry.sql, entry.params)
        const text = await response.text()
        expect(response.status, text).toBe(200)
        const body = JSON.parse(text) as { rows: Array<Array<unknown>>; rowCount: number }
        if (entry.rows !== undefined) expect(comparable(body.rows)).toEqual(comparable(entry.rows))
        expect(body.rowCount).toBe(body.rows.length)
        expect(body.rows.length).toBeGreaterThanOrEqual(entry.minRows ?? 1)
        expect(listFiles(watched.dir)).toEqual(filesBefore)
      })
    }
  })
})

describe("read-only mode", () => {
  for (const name of ["shared default instance", "own instance, read_only: true"]) {
    it(`${name}: every DDL/DML statement is 403 read_only and changes nothing`, async () => {
      const target = targetNamed(name)
      const before = await instanceState(target.side)
      for (const entry of writeCorpus) {
        const response = await postQuery(target.url, target.instanceId, entry.sql, entry.params)
        const payload = await expectError(response, 403, "read_only")
        expect(payload.error).toContain("read-only")
      }
      expect(await instanceState(target.side)).toBe(before)
    })
  }

  it("read_only: false: DDL/DML on the instance's own memory catalog works, in order", async () => {
    const target = targetNamed("own instance, read_only: false")
    const attachedBefore = await target.side.rows("SELECT count(*), sum(total) FROM att.orders")
    for (const entry of writeCorpus) {
      const response = await postQuery(target.url, target.instanceId, entry.sql, entry.params)
      expect(response.status, `${entry.name}: ${await response.clone().text()}`).toBe(200)
      await response.body?.cancel()
    }
    for (const entry of readsAfterWrites) {
      const response = await postQuery(target.url, target.instanceId, entry.sql)
      const body = (await response.json()) as { rows: Array<Array<unknown>> }
      expect(comparable(body.rows), entry.name).toEqual(comparable(entry.rows))
    }
    // A table created through the API reads back what was inserted.
    for (const sql of [
      "CREATE TABLE notes (id INTEGER, body VARCHAR)",
      "INSERT INTO notes VALUES (1, 'first'), (2, 'second')"
    ]) {
      expect((await postQuery(target.url, target.instanceId, sql)).status).toBe(200)
    }
    const notes = await postQuery(target.url, target.instanceId, "SELECT * FROM notes ORDER BY id")
    expect(((await notes.json()) as { rows: unknown }).rows).toEqual([
      [1, "first"],
      [2, "second"]
    ])
    expect(await target.side.rows("SELECT count(*), sum(total) FROM att.orders")).toEqual(attachedBefore)
  })
})

describe("attached DuckDB files", () => {
  it("are byte-identical after every corpus ran on every target, and still readable", async () => {
    // The whole directory, attached files included, is as it was before any server opened it.
    expect(listFiles(watched.dir)).toEqual(filesAtStart)
    for (const target of targets) {
      const response = await postQuery(target.url, target.instanceId, "SELECT count(*) FROM att.orders")
      expect(((await response.json()) as { rows: unknown }).rows).toEqual([[50]])
    }
  })
})
