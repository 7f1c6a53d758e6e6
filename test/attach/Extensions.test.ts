import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  classifyExtensionError,
  extensionForType,
  extensionNameProblems,
  ImageExtensionDirectory,
  planExtensions,
  resolveExtension,
  resolveExtensionDirectory
} from "../../src/attach/Extensions.js"
import { errorOf, openInstance, rows } from "../support/DuckDBFiles.js"

describe("which extensions", () => {
  it("maps database types to their scanner extensions", () => {
    expect(extensionForType("postgres")).toBe("postgres")
    expect(extensionForType("postgresql")).toBe("postgres")
    expect(extensionForType("mysql")).toBe("mysql")
    expect(extensionForType("sqlite")).toBe("sqlite")
    expect(extensionForType("duckdb")).toBeUndefined()
  })

  it("accepts the scanners' other names, skips arrow and built-ins with a reason", () => {
    expect(resolveExtension("postgres_scanner")).toEqual({ _tag: "Load", name: "postgres" })
    expect(resolveExtension("PostgreSQL")).toEqual({ _tag: "Load", name: "postgres" })
    expect(resolveExtension("sqlite_scanner")).toEqual({ _tag: "Load", name: "sqlite" })
    expect(resolveExtension("spatial")).toEqual({ _tag: "Load", name: "spatial" })
    const arrow = resolveExtension("arrow")
    expect(arrow._tag).toBe("Skip")
    expect(arrow._tag === "Skip" && arrow.reason).toContain("apache-arrow")
    expect(resolveExtension("json")).toMatchObject({
      _tag: "Skip",
      reason: "built into DuckDB; nothing to load"
    })
    expect(extensionNameProblems(["postgres", "x; DROP", "arrow"])).toEqual([
      "duckdb.extensions[1]: not a valid extension name"
    ])
  })
})

describe("planExtensions", () => {
  it("sets the directory, searches a local repository, loads each extension once", () => {
    const plan = planExtensions({
      extensions: ["arrow", "postgres", "mysql"],
      types: ["postgresql", "sqlite", "duckdb"],
      directory: "ext",
      repository: "file:///mirror/duckdb",
      baseDir: "/etc/pondpilot"
    })
    expect(plan.statements).toEqual([
      "SET extension_directory = '/etc/pondpilot/ext'",
      "SET extension_directories = ['/mirror/duckdb']",
      "LOAD postgres",
      "LOAD mysql",
      "LOAD sqlite"
    ])
    expect(plan.loads).toEqual(["postgres", "mysql", "sqlite"])
    expect(plan.skipped.map((s) => s.requested)).toEqual(["arrow"])
    expect(plan.remoteRepositoryIgnored).toBe(false)
  })

  it("never installs: a remote repository is for the install script only", () => {
    const plan = planExtensions({
      extensions: ["postgres"],
      directory: undefined,
      repository: "https://extensions.example.com",
      baseDir: "/"
    })
    expect(plan.statements).toEqual(["LOAD postgres"])
    expect(plan.remoteRepositoryIgnored).toBe(true)
    expect(plan.statements.join()).not.toMatch(/INSTALL/i)
  })

  it("resolves the extension directory: configured, image, ./extensions, or DuckDB's default", () => {
    const none = () => false
    expect(resolveExtensionDirectory({ configured: "e", baseDir: "/cfg", cwd: "/app", exists: none })).toBe(
      "/cfg/e"
    )
    expect(
      resolveExtensionDirectory({
        configured: undefined,
        baseDir: "/cfg",
        cwd: "/app",
        exists: (d) => d === ImageExtensionDirectory
      })
    ).toBe(ImageExtensionDirectory)
    expect(
      resolveExtensionDirectory({
        configured: undefined,
        baseDir: "/cfg",
        cwd: "/app",
        exists: (d) => d === "/app/extensions"
      })
    ).toBe("/app/extensions")
    expect(
      resolveExtensionDirectory({ configured: undefined, baseDir: "/cfg", cwd: "/app", exists: none })
    ).toBe(undefined)
  })
})

describe("DuckDB's messages for a missing extension (measured live, DuckDB 1.5.5)", () => {
  let directory: string
  let db: Awaited<ReturnType<typeof openInstance>>
  let platform: string
  beforeAll(async () => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), "pp-ext-"))
    db = await openInstance({ allow_unsigned_extensions: "false" })
    platform = String((await rows(db.connection, "PRAGMA platform"))[0]!.platform)
  })
  afterAll(() => {
    db?.close()
    fs.rmSync(directory, { recursive: true, force: true })
  })

  const expectUnavailable = (message: string | undefined, name: string | undefined) => {
    expect(message).toBeDefined()
    const error = classifyExtensionError(message!)
    expect(error?._tag).toBe("ExtensionUnavailable")
    expect(error?.message).toContain(name === undefined ? "A required DuckDB extension" : `"${name}"`)
    expect(error?.message).toContain("npm run extensions:install")
    expect(error?.message).toContain("duckdb.extension_directory")
    expect(error?.message).not.toContain(directory)
    expect(error?.message).not.toMatch(/\/[a-z]/)
  }

  it("the plan's LOADs fail with 'not found' for every scanner", async () => {
    const plan = planExtensions({ extensions: ["postgres", "mysql", "sqlite"], directory, baseDir: "/" })
    expect(await errorOf(db.connection, plan.statements[0]!)).toBeUndefined()
    for (const [index, name] of ["postgres", "mysql", "sqlite"].entries()) {
      const message = await errorOf(db.connection, plan.statements[index + 1]!)
      expect(message).toBe(
        `IO Error: Extension "${directory}/v1.5.5/${platform}/${name}_scanner.duckdb_extension" not found.\nExtension "${name}" is an existing extension.\n\nInstall it first using "INSTALL ${name}".`
      )
      expectUnavailable(message, name)
    }
  })

  it("an unknown extension name", async () => {
    const message = await errorOf(db.connection, "LOAD nanoarrow")
    expect(message).toMatch(
      /^IO Error: Extension ".*\/nanoarrow\.duckdb_extension" not found\.\n\nCandidate extensions:/
    )
    expectUnavailable(message, "nanoarrow")
  })

  it("a file that is not an extension", async () => {
    const platformDir = path.join(directory, "v1.5.5", platform)
    fs.mkdirSync(platformDir, { recursive: true })
    fs.writeFileSync(path.join(platformDir, "mysql_scanner.duckdb_extension"), Buffer.alloc(4096, 7))
    const message = await errorOf(db.connection, "LOAD mysql")
    expect(message).toBe(
      "Invalid Input Error: Failed to load 'mysql', The file is not a DuckDB extension. The metadata at the end of the file is invalid"
    )
    expectUnavailable(message, "mysql")
    const byPath = await errorOf(
      db.connection,
      `LOAD '${path.join(platformDir, "mysql_scanner.duckdb_extension")}'`
    )
    expectUnavailable(byPath, "mysql")
  })

  it("CREATE SECRET before the extension is loaded", async () => {
    const message = await errorOf(db.connection, "CREATE TEMPORARY SECRET s (TYPE mysql, HOST 'h')")
    expect(message).toMatch(
      /^Invalid Input Error: Secret type 'mysql' does not exist, but it exists in the mysql_scanner extension\./
    )
    expectUnavailable(message, "mysql")
  })

  it("LOAD after lockdown", async () => {
    const locked = await openInstance()
    try {
      await locked.connection.run("SET enable_external_access = false")
      const message = await errorOf(locked.connection, "LOAD postgres")
      expect(message).toBe("Permission Error: Loading external extensions is disabled through configuration")
      expectUnavailable(message, undefined)
      expect(classifyExtensionError(message!, "postgres")?.message).toContain('"postgres"')
    } finally {
      locked.close()
    }
  })

  it("texts this machine cannot produce, from DuckDB's sources", () => {
    expectUnavailable(
      'IO Error: Extension "/x/postgres_scanner.duckdb_extension" could not be loaded because its signature is either missing or invalid and unsigned extensions are disabled by configuration (allow_unsigned_extensions)',
      "postgres"
    )
    expectUnavailable(
      "Invalid Input Error: Failed to load '/x/sqlite_scanner.duckdb_extension', The file was built for DuckDB version 'v1.5.4', but we can only load extensions built for DuckDB version 'v1.5.5'.",
      "sqlite"
    )
  })

  it("leaves unrelated errors alone", () => {
    expect(classifyExtensionError("Catalog Error: Table with name t does not exist!")).toBeUndefined()
    expect(classifyExtensionError('IO Error: Cannot open database "x" in read-only mode')).toBeUndefined()
  })
})
