import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { promisify } from "node:util"
import { projectRoot } from "../support/Process.js"
import { cacheDir, imageTag, podmanLogged } from "./podman.js"

/** Builds the project's image from its real Dockerfile, on the local Node base stand-in. */

const run = promisify(execFile)

/** Where the wheels sit in the build context, as EXTENSION_WHEELS names it. */
export const wheelsInContext = "extension-wheels"

export const duckdbVersion = (): string => {
  const pkg = JSON.parse(
    fs.readFileSync(path.join(projectRoot, "node_modules/@duckdb/node-api/package.json"), "utf8")
  ) as { version: string }
  return pkg.version.replace(/-.*$/, "")
}

/**
 * The official DuckDB extension wheels for the pinned version: PONDPILOT_TEST_WHEELS when set, else
 * downloaded once with pip into the cache (PIP_INDEX_URL, honoured by pip, points at a mirror).
 */
export const ensureWheels = async (log: (line: string) => void): Promise<string> => {
  const given = process.env.PONDPILOT_TEST_WHEELS
  if (given) return given
  const version = duckdbVersion()
  const dir = path.join(cacheDir, `wheels-${version}`)
  const names = ["postgres", "mysql", "sqlite"].map((n) => `duckdb-extension-${n}-scanner==${version}.*`)
  const have = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".whl")) : []
  if (have.length >= names.length) return dir
  log(`image tests: downloading the DuckDB ${version} extension wheels with pip into ${dir}`)
  fs.mkdirSync(dir, { recursive: true })
  await run(
    "python3",
    [
      ...["-m", "pip", "download", "--no-deps", "--only-binary=:all:"],
      ...["--platform", "manylinux2014_x86_64", "-d", dir, ...names]
    ],
    { timeout: 300_000 }
  ).catch((error: Error & { stderr?: string }) => {
    throw new Error(
      `the extension wheels could not be downloaded (set PONDPILOT_TEST_WHEELS to a directory of them): ${error.stderr ?? error.message}`
    )
  })
  return dir
}

/**
 * A build context as a fresh clone would send it: the files git knows (committed or not, minus
 * what .gitignore leaves out), plus the wheels. podman applies .dockerignore on top.
 */
const buildContext = (wheels: string): string => {
  const context = fs.mkdtempSync(path.join(cacheDir, "context-"))
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: projectRoot,
    encoding: "utf8"
  })
    .split("\0")
    .filter((file) => file !== "" && fs.existsSync(path.join(projectRoot, file)))
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(context, file)), { recursive: true })
    fs.copyFileSync(path.join(projectRoot, file), path.join(context, file))
  }
  fs.mkdirSync(path.join(context, wheelsInContext))
  for (const wheel of fs.readdirSync(wheels).filter((f) => f.endsWith(".whl")))
    fs.copyFileSync(path.join(wheels, wheel), path.join(context, wheelsInContext, wheel))
  return context
}

export interface Built {
  readonly tag: string
  readonly seconds: number
}

export const buildImage = async (
  base: string,
  wheels: string,
  log: (line: string) => void
): Promise<Built> => {
  const context = buildContext(wheels)
  const started = Date.now()
  try {
    log(`image tests: building ${imageTag} from the Dockerfile on ${base}`)
    await podmanLogged(
      [
        ...["build", "--format", "docker", "--network", "host", "--layers"],
        ...["--build-arg", `NODE_IMAGE=${base}`, "--build-arg", `EXTENSION_WHEELS=${wheelsInContext}`],
        ...["-t", imageTag, "-f", path.join(context, "Dockerfile"), context]
      ],
      path.join(cacheDir, "build.log"),
      900_000
    )
  } finally {
    fs.rmSync(context, { recursive: true, force: true })
  }
  return { tag: imageTag, seconds: (Date.now() - started) / 1000 }
}
