import { execFile } from "node:child_process"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "vitest"
import { instructionsOf, parseDockerfile, parseEnv, stageEnv, stageNamed } from "./dockerfile.js"
import { readRepoFile, readYaml, repoPathExists } from "./files.js"

const dockerfile = parseDockerfile(readRepoFile("Dockerfile"))
const runtime = dockerfile.stages.at(-1)!
const runs = (stageName: string) =>
  instructionsOf(stageNamed(dockerfile, stageName), "RUN").map((i) => i.args)

// Written on other branches of this project; everything else COPY names must exist here.
const fromOtherBranches = new Set(["scripts", "bin"])

describe("Dockerfile", () => {
  it("builds in stages on a glibc Node 20 image", () => {
    expect(dockerfile.stages.map((stage) => stage.name)).toEqual(["build", "deps", "runtime"])
    for (const stage of dockerfile.stages) {
      expect(stage.base).toBe("node:20-bookworm-slim")
      expect(stage.base).not.toMatch(/alpine|musl/)
    }
  })

  it("compiles with the full dependency set and bakes in the DuckDB extensions", () => {
    const build = runs("build")
    expect(build).toContainEqual(expect.stringMatching(/^npm ci\b/))
    expect(build).toContain("npm run build")
    expect(build).toContain("node scripts/install-extensions.mjs --dir /opt/pondpilot/extensions")
    // The install runs after npm ci (it needs @duckdb/node-api) and after the scripts are copied.
    const instructions = stageNamed(dockerfile, "build").instructions
    const at = (predicate: (args: string) => boolean) => instructions.findIndex((i) => predicate(i.args))
    expect(at((a) => a.startsWith("node scripts/install-extensions.mjs"))).toBeGreaterThan(
      at((a) => a.startsWith("npm ci"))
    )
    expect(at((a) => a.startsWith("node scripts/install-extensions.mjs"))).toBeGreaterThan(
      at((a) => a.startsWith("scripts "))
    )
  })

  it("ships production dependencies only, installed in a clean stage", () => {
    expect(runs("deps")).toContainEqual(expect.stringMatching(/^npm ci --omit=dev\b/))
    const copies = instructionsOf(runtime, "COPY")
    const from = (stage: string) =>
      copies.filter((copy) => copy.flags.from === stage).map((copy) => copy.args)
    expect(from("deps")).toEqual(["/app/node_modules ./node_modules"])
    expect(from("build")).toEqual(["/app/dist ./dist", "/opt/pondpilot/extensions /opt/pondpilot/extensions"])
    expect(runs("runtime").join("\n")).not.toMatch(/npm (ci|install)/)
  })

  it("copies only files that exist (or come from the other branches) and are not docker-ignored", () => {
    const ignored = readRepoFile(".dockerignore")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#") && !line.startsWith("!"))
    for (const stage of dockerfile.stages) {
      for (const copy of instructionsOf(stage, "COPY").filter((c) => c.flags.from === undefined)) {
        const sources = copy.args.split(/\s+/).slice(0, -1)
        for (const source of sources) {
          expect(repoPathExists(source) || fromOtherBranches.has(source), source).toBe(true)
          expect(ignored, source).not.toContain(source)
        }
      }
    }
    for (const secret of [".env", "node_modules", ".git"]) expect(ignored).toContain(secret)
  })

  it("runs as a numeric non-root user, under tini, through the launcher", () => {
    const user = instructionsOf(runtime, "USER").at(-1)!.args
    expect(user).toMatch(/^[1-9]\d*:[1-9]\d*$/)
    expect(runs("runtime").join("\n")).toMatch(/apt-get install -y --no-install-recommends tini/)
    expect(instructionsOf(runtime, "ENTRYPOINT").at(-1)!.exec).toEqual(["/usr/bin/tini", "--"])
    expect(instructionsOf(runtime, "CMD").at(-1)!.exec).toEqual(["/bin/sh", "/app/bin/pondpilot-proxy"])
    // Kubernetes runs the pod as the same user.
    const deployment = readYaml("deploy/kubernetes/deployment.yaml")
    const [uid, gid] = user.split(":").map(Number)
    expect(deployment.spec.template.spec.securityContext).toMatchObject({ runAsUser: uid, runAsGroup: gid })
  })

  it("listens on every interface on 8080 and needs no config file", () => {
    expect(instructionsOf(runtime, "EXPOSE").map((i) => i.args)).toEqual(["8080"])
    const env = stageEnv(runtime)
    expect(env.HOST).toBe("0.0.0.0")
    expect(env).not.toHaveProperty("CONFIG_FILE")
    expect(env).not.toHaveProperty("PORT") // it would override the config file's port
    expect(Object.keys(env).join(" ")).not.toMatch(/KEY|SECRET|PASSWORD|TOKEN/)
  })

  it("has a HEALTHCHECK that uses node (no curl in the image), as compose does", () => {
    const [healthcheck] = instructionsOf(runtime, "HEALTHCHECK")
    expect(healthcheck).toBeDefined()
    expect(healthcheck!.flags).toMatchObject({ interval: "30s", timeout: "10s", retries: "3" })
    expect(healthcheck!.exec?.slice(0, 2)).toEqual(["node", "-e"])
    const compose = readYaml("docker-compose.yaml")
    expect(compose.services["pondpilot-proxy"].healthcheck.test).toEqual(["CMD", ...healthcheck!.exec!])
  })
})

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
