import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { instructionsOf, parseDockerfile, parseEnv, stageEnv, stageNamed } from "../support/Dockerfile.js"
import { readRepoFile, readYaml } from "../support/RepoFiles.js"

const dockerfile = parseDockerfile(readRepoFile("Dockerfile"))
const runtime = dockerfile.stages.at(-1)!
const runs = (stageName: string) =>
  instructionsOf(stageNamed(dockerfile, stageName), "RUN").map((i) => i.args)

/**
 * The image is built and run for real by `npm run test:image` (test/image): non-root, read-only,
 * health, a query, the drain, the extensions. What stays here is what a build cannot show.
 */
describe("Dockerfile", () => {
  it("defaults to the official glibc Node 20 image for every stage (the image tests build on a local stand-in)", () => {
    expect(dockerfile.globalArgs.NODE_IMAGE).toBe("node:20-bookworm-slim")
    for (const stage of dockerfile.stages) expect(stage.base).toBe(dockerfile.globalArgs.NODE_IMAGE)
  })

  it("installs the extensions from DuckDB's repository unless a build argument names another source", () => {
    const build = stageNamed(dockerfile, "build")
    const install = runs("build").find((args) => args.includes("install-extensions.mjs"))!
    // The build arguments as the Dockerfile declares them (all empty unless --build-arg sets one).
    const declared = Object.fromEntries(
      instructionsOf(build, "ARG").map((arg) => arg.args.split("=") as [string, string])
    )
    expect(Object.keys(declared).sort()).toEqual([
      "EXTENSION_PYPI_INDEX",
      "EXTENSION_REPOSITORY",
      "EXTENSION_WHEELS"
    ])
    const installer = (buildArgs: Record<string, string>) =>
      ranInstaller(install, { ...declared, ...buildArgs })
    const target = ["scripts/install-extensions.mjs", "--dir", "/opt/pondpilot/extensions"]
    expect(installer({})).toEqual(target)
    expect(installer({ EXTENSION_REPOSITORY: "https://mirror.example/duckdb" })).toEqual([
      ...target,
      "--repository",
      "https://mirror.example/duckdb"
    ])
    expect(installer({ EXTENSION_PYPI_INDEX: "https://pypi.org/simple" })).toEqual([
      ...target,
      "--pypi",
      "--pip-index-url",
      "https://pypi.org/simple"
    ])
    expect(installer({ EXTENSION_WHEELS: "extension-wheels" })).toEqual([
      ...target,
      "--wheels",
      "/context/extension-wheels"
    ])
  })

  it("keeps secrets out of the build context and the image's environment", () => {
    const ignored = readRepoFile(".dockerignore")
      .split("\n")
      .map((line) => line.trim())
    for (const secret of [".env", "**/*.pem", "**/*.key", "node_modules", ".git"])
      expect(ignored).toContain(secret)
    const env = stageEnv(runtime)
    expect(env).not.toHaveProperty("CONFIG_FILE")
    expect(env).not.toHaveProperty("PORT") // it would override the config file's port
    expect(Object.keys(env).join(" ")).not.toMatch(/KEY|SECRET|PASSWORD|TOKEN/)
    // Production unless asked otherwise: no development server with made-up keys (ConfigLoader).
    expect(env.NODE_ENV).toBe("production")
  })

  it("runs as the user Kubernetes runs the pod as, with the HEALTHCHECK compose uses", () => {
    const [uid, gid] = instructionsOf(runtime, "USER").at(-1)!.args.split(":").map(Number)
    const deployment = readYaml("deploy/kubernetes/deployment.yaml")
    expect(deployment.spec.template.spec.securityContext).toMatchObject({ runAsUser: uid, runAsGroup: gid })
    const [healthcheck] = instructionsOf(runtime, "HEALTHCHECK")
    const compose = readYaml("docker-compose.yaml")
    expect(compose.services["pondpilot-proxy"].healthcheck.test).toEqual(["CMD", ...healthcheck!.exec!])
  })
})

/**
 * What a RUN line of the build passes to `node`, run by sh with the build arguments in its
 * environment and stand-ins for `node` (which prints its arguments) and `apt-get`.
 */
const ranInstaller = (script: string, env: Record<string, string>): Array<string> => {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "pondpilot-dockerfile-"))
  try {
    fs.writeFileSync(path.join(bin, "node"), '#!/bin/sh\nfor arg in "$@"; do echo "$arg"; done\n', {
      mode: 0o755
    })
    fs.writeFileSync(path.join(bin, "apt-get"), "#!/bin/sh\nexit 0\n", { mode: 0o755 })
    const output = execFileSync("sh", ["-c", script], {
      env: { ...env, PATH: `${bin}:${process.env.PATH ?? ""}` },
      encoding: "utf8"
    })
    return output.trimEnd().split("\n")
  } finally {
    fs.rmSync(bin, { recursive: true, force: true })
  }
}

describe("the HEALTHCHECK command", () => {
  const script = instructionsOf(runtime, "HEALTHCHECK")[0]!.exec![2]!

  const runCheck = (port: number) =>
    new Promise<number>((resolve) => {
      execFile(process.execPath, ["-e", script], { env: { PORT: String(port) }, timeout: 10_000 }, (error) =>
        resolve(error === null ? 0 : typeof error.code === "number" ? error.code : -1)
      )
    })

  const withServer = async (status: number, body: (port: number) => Promise<void>) => {
    const seen: Array<string> = []
    const server = http.createServer((request, response) => {
      seen.push(request.url ?? "")
      response.writeHead(status, { "content-type": "application/json" }).end('{"status":"healthy"}')
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      await body((server.address() as AddressInfo).port)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
    return seen
  }

  it("passes when /health answers 200", async () => {
    const seen = await withServer(200, async (port) => expect(await runCheck(port)).toBe(0))
    expect(seen).toEqual(["/health"])
  })

  it("fails when /health answers an error", async () => {
    await withServer(503, async (port) => expect(await runCheck(port)).toBe(1))
  })

  it("fails when nothing listens", async () => {
    let freePort = 0
    await withServer(200, async (port) => {
      freePort = port
    })
    expect(await runCheck(freePort)).toBe(1)
  })
})

describe("parseDockerfile", () => {
  it("joins continuations, skips comments inside them and reads flags and exec form", () => {
    const parsed = parseDockerfile(
      [
        "ARG BASE=debian:12",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile's own ${} syntax
        "FROM ${BASE} AS one",
        "RUN apt-get update \\",
        "  # a comment inside",
        "  && echo done",
        "COPY --from=zero --chown=1:1 /a /b",
        'ENV A=1 B="two words"',
        'HEALTHCHECK --interval=5s CMD ["true"]'
      ].join("\n")
    )
    const [stage] = parsed.stages
    expect(stage!.base).toBe("debian:12")
    expect(stage!.instructions.map((i) => i.args)).toEqual([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile's own ${} syntax
      "${BASE} AS one",
      "apt-get update && echo done",
      "/a /b",
      'A=1 B="two words"',
      'CMD ["true"]'
    ])
    expect(stage!.instructions[2]!.flags).toEqual({ from: "zero", chown: "1:1" })
    expect(stage!.instructions[4]!.exec).toEqual(["true"])
    expect(parseEnv('A=1 B="two words"')).toEqual({ A: "1", B: "two words" })
  })
})
