import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { allowedPathList, creationOptions, lockdown } from "../../src/gate/Lockdown.js"
import { quoteLiteral } from "../../src/sql/Quote.js"

let dir: string
let previousCwd: string
beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "pondpilot-lockdown-")))
  previousCwd = process.cwd()
  // Relative paths in the statements below land here, and nowhere else.
  process.chdir(dir)
})
afterAll(() => {
  process.chdir(previousCwd)
  fs.rmSync(dir, { recursive: true, force: true })
})

const settings = { threads: 2, memoryLimitBytes: 1_000_000_000 }

const open = async (file?: string) => {
  const instance = await DuckDBInstance.create(file, creationOptions(settings))
  const connection = await instance.connect()
  return {
    instance,
    connection,
    close: () => {
      connection.closeSync()
      instance.closeSync()
    }
  }
}

const setting = async (connection: DuckDBConnection, name: string) =>
  (await connection.runAndReadAll("SELECT current_setting($1)", [name])).getRowsJson()[0]?.[0]

const fails = (run: () => Promise<unknown>) =>
  run().then(
    () => undefined,
    (error: Error) => error.message
  )

const makeDuckDBFile = async (file: string) => {
  const maker = await DuckDBInstance.create(file)
  const connection = await maker.connect()
  await connection.run("CREATE TABLE x AS SELECT 42 AS v")
  connection.closeSync()
  maker.closeSync()
}

describe("creationOptions", () => {
  it("spells every setting the way DuckDB accepts at creation", () => {
    expect(creationOptions(settings)).toEqual({
      threads: "2",
      memory_limit: "1000000000B",
      temp_directory: "",
      autoinstall_known_extensions: "false",
      autoload_known_extensions: "false",
      allow_community_extensions: "false",
      allow_unsigned_extensions: "false",
      allow_extensions_metadata_mismatch: "false",
      allow_persistent_secrets: "false",
      allow_unredacted_secrets: "false",
      allowed_configs: "[]",
      errors_as_json: "false"
    })
    expect(
      creationOptions({ ...settings, allowUnsignedExtensions: true, extensionDirectory: "/ext" })
    ).toMatchObject({
      allow_unsigned_extensions: "true",
      extension_directory: "/ext"
    })
  })

  it("creates an instance that has them", async () => {
    const { connection, close } = await open()
    expect(await setting(connection, "threads")).toBe("2")
    expect(await setting(connection, "memory_limit")).toBe("953.6 MiB")
    expect(await setting(connection, "temp_directory")).toBe("")
    expect(await setting(connection, "autoload_known_extensions")).toBe(false)
    expect(await setting(connection, "allow_community_extensions")).toBe(false)
    expect(await setting(connection, "allow_persistent_secrets")).toBe(false)
    close()
  })
})

describe("lockdown", () => {
  it("sets allowed_paths, turns external access off, locks the configuration and checks each", async () => {
    const attached = path.join(dir, "it's.duckdb")
    await makeDuckDBFile(attached)
    const { connection, close } = await open()
    await connection.run(`ATTACH ${quoteLiteral(attached)} AS att (READ_ONLY)`)
    const later = path.join(dir, "later.duckdb")
    await Effect.runPromise(lockdown(connection, { allowedPaths: [later] }))

    expect(await setting(connection, "enable_external_access")).toBe(false)
    expect(await setting(connection, "lock_configuration")).toBe(true)
    const allowed = (await setting(connection, "allowed_paths")) as Array<string>
    // DuckDB adds every attached file itself (with .wal, .wal.checkpoint, .wal.recovery).
    expect(allowed).toEqual(
      expect.arrayContaining([...allowedPathList([later]), attached, `${attached}.wal`])
    )

    // Locked for the server's own connection too, and one way.
    expect(await fails(() => connection.run("SET threads = 1"))).toMatch(/locked/i)
    expect(await fails(() => connection.run("SET enable_external_access = true"))).toBeDefined()
    const again = await Effect.runPromiseExit(lockdown(connection, { allowedPaths: [] }))
    expect(Exit.isFailure(again) && JSON.stringify(again.cause)).toContain("LockdownFailed")

    // The server may still attach a file it allowed, and nothing else.
    await makeDuckDBFile(later)
    await connection.run(`ATTACH '${later}' AS later (READ_ONLY)`)
    expect((await connection.runAndReadAll("SELECT v FROM later.x")).getRowsJson()).toEqual([[42]])
    await makeDuckDBFile(path.join(dir, "other.duckdb"))
    expect(
      await fails(() => connection.run(`ATTACH '${path.join(dir, "other.duckdb")}' AS o (READ_ONLY)`))
    ).toMatch(/Permission Error/)
    close()
  })

  it("blocks file access that is not allowed, even on an ungated connection", async () => {
    const { connection, close } = await open()
    await Effect.runPromise(lockdown(connection, { allowedPaths: [] }))
    expect(await fails(() => connection.run("SELECT * FROM read_text('/etc/passwd')"))).toMatch(
      /Permission Error/
    )
    expect(await fails(() => connection.run(`COPY (SELECT 1) TO '${dir}/copy.csv'`))).toMatch(
      /Permission Error/
    )
    expect(await fails(() => connection.run("COPY (SELECT 1) TO ':memory:'"))).toMatch(/Permission Error/)
    expect(await fails(() => connection.prepare(`EXPORT DATABASE '${dir}/export'`))).toMatch(
      /Permission Error/
    )
    expect(fs.readdirSync(dir).filter((f) => /copy|memory|export/.test(f))).toEqual([])
    close()
  })
})

/**
 * What DuckDB 1.5.5 still allows after lockdown, measured (security.md). The gate refuses each of these;
 * if one of these tests fails after an upgrade, DuckDB changed and security.md needs re-measuring.
 */
describe("DuckDB after lockdown, without the gate", () => {
  it("still reads files that allowed_paths lists", async () => {
    const csv = path.join(dir, "allowed.csv")
    fs.writeFileSync(csv, "a\n1\n")
    const { connection, close } = await open()
    await Effect.runPromise(lockdown(connection, { allowedPaths: [csv] }))
    expect((await connection.runAndReadAll(`SELECT content FROM read_text('${csv}')`)).getRowsJson()).toEqual(
      [["a\n1\n"]]
    )
    close()
  })

  it("still lets enable_logging() and enable_peg_parser-style table functions change server state", async () => {
    const { connection, close } = await open()
    await Effect.runPromise(lockdown(connection, { allowedPaths: [] }))
    const before = await setting(connection, "enable_logging")
    await connection.run("SELECT * FROM enable_logging()")
    expect([before, await setting(connection, "enable_logging")]).toEqual([0, 1])
    close()
  })

  it("still lets DETACH then ATTACH (READ_WRITE) reopen an attached file for writing", async () => {
    const file = path.join(dir, "reopen.duckdb")
    await makeDuckDBFile(file)
    const { connection, close } = await open()
    await connection.run(`ATTACH '${file}' AS r (READ_ONLY)`)
    await Effect.runPromise(lockdown(connection, { allowedPaths: [] }))
    await connection.run("DETACH r")
    await connection.run(`ATTACH '${file}' AS r (READ_WRITE)`)
    await connection.run("INSERT INTO r.x VALUES (43)")
    expect((await connection.runAndReadAll("SELECT count(*) FROM r.x")).getRowsJson()).toEqual([["2"]])
    close()
  })

  it("lets COPY write <cwd>/:memory: when created as ':memory:' with external access already off", async () => {
    for (const file of [":memory:", undefined]) {
      const options = { ...creationOptions(settings), enable_external_access: "false" }
      const instance = await DuckDBInstance.create(file, options)
      const connection = await instance.connect()
      const error = await fails(() => connection.run("COPY (SELECT 1) TO ':memory:'"))
      expect(fs.existsSync(path.join(dir, ":memory:"))).toBe(file === ":memory:")
      expect(error === undefined).toBe(file === ":memory:")
      fs.rmSync(path.join(dir, ":memory:"), { force: true })
      connection.closeSync()
      instance.closeSync()
    }
  })

  it("lets COPY write into the default temp directory; temp_directory '' closes it", async () => {
    const spill = path.join(dir, ".tmp", "spill.csv")
    fs.mkdirSync(path.join(dir, ".tmp"))
    for (const [options, writes] of [
      [{}, true],
      [creationOptions(settings), false]
    ] as const) {
      const instance = await DuckDBInstance.create(undefined, options)
      const connection = await instance.connect()
      await connection.run("SET enable_external_access = false")
      await fails(() => connection.run("COPY (SELECT 1) TO '.tmp/spill.csv'"))
      connection.closeSync()
      instance.closeSync()
      expect(fs.existsSync(spill)).toBe(writes)
      fs.rmSync(spill, { force: true })
    }
    fs.rmSync(path.join(dir, ".tmp"), { recursive: true })
  })

  it("creates EXPORT DATABASE's directory while merely preparing it, before lockdown", async () => {
    const { connection, close } = await open()
    const prepared = await connection.prepare(`EXPORT DATABASE '${dir}/prepared-export'`)
    prepared.destroySync()
    expect(fs.existsSync(path.join(dir, "prepared-export"))).toBe(true)
    close()
  })
})
