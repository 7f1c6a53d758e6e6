import * as fs from "node:fs"
import * as path from "node:path"
import { Duration, Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Metrics } from "../../src/services/Metrics.js"
import { instructionsOf, parseDockerfile, stageEnv } from "../deploy/dockerfile.js"
import {
  decodeConfig,
  parseEnvFile,
  productionSecrets,
  readRepoFile,
  readYaml,
  repoRoot
} from "../support/RepoFiles.js"
import { json, type RunningServer, startServer, testSettings } from "../support/TestServer.js"

/** The README's Operations and Deployment sections say what the files and the server do. */

const readme = readRepoFile("README.md")
const section = (title: string) => {
  const start = readme.indexOf(`\n## ${title}\n`)
  expect(start, title).toBeGreaterThan(0)
  const end = readme.indexOf("\n## ", start + 1)
  return readme.slice(start, end === -1 ? undefined : end)
}
const operations = section("Operations")
const deployment = section("Deployment")
const deployReadme = readRepoFile("deploy/README.md")

const jsonSamples = (text: string): Array<Record<string, unknown>> =>
  [...text.matchAll(/```json\n([\s\S]*?)```/g)].flatMap((match) =>
    match[1]!
      .split("\n")
      .filter((line) => line.trim().startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
  )

describe("README: Operations", () => {
  let server: RunningServer
  beforeAll(async () => {
    server = await startServer(
      testSettings({ security: { rate_limit: { requests_per_minute: 60, burst_size: 2 } } })
    )
  })
  afterAll(() => server.dispose())

  it("shows one sample line per kind of audit line, with exactly the fields the server writes", async () => {
    const call = (route: string, init?: RequestInit) => fetch(`${server.url}${route}`, init)
    await call("/health")
    await call("/v1/instances/default/query", json({ query: "SELECT 42 AS answer" }))
    await call("/v1/instances/default/query", json({ query: "SELECT nope" }))
    await call("/v1/instances", { headers: { "x-api-key": "wrong" } })
    for (let i = 0; i < 4; i++) await call("/v1/instances", { headers: { "x-api-key": "test-key" } })
    await new Promise((resolve) => setTimeout(resolve, 50))
    const real = server.logLines.map((line) => JSON.parse(line) as Record<string, unknown>)
    const samples = jsonSamples(operations)
    const kinds = ["query executed", "query failed", "request", "authentication failed", "rate limited"]
    for (const kind of kinds) {
      const sample = samples.find((line) => line.message === kind)
      const line = real.find((candidate) => candidate.message === kind)
      expect(sample, `README sample of "${kind}"`).toBeDefined()
      expect(line, `a real "${kind}" line`).toBeDefined()
      expect(Object.keys(sample!), kind).toEqual(Object.keys(line!))
      expect(sample!.level, kind).toBe(line!.level)
    }
    for (const message of ["listening", "draining", "stopped serving"])
      expect(samples.map((line) => line.message)).toContain(message)
    expect(operations).toContain('"message":"log lines dropped","dropped":')
  })

  it("lists every metric family the server exposes (Node's own as pondpilot_process_* and pondpilot_nodejs_*)", async () => {
    const body = await Effect.runPromise(
      Effect.scoped(Effect.flatMap(Metrics, (metrics) => metrics.render())).pipe(
        Effect.provide(Metrics.Default)
      )
    )
    const families = [...body.body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => match[1]!)
    const own = families.filter((name) => !/^pondpilot_(process|nodejs)_/.test(name))
    expect(own.length).toBeGreaterThanOrEqual(10)
    const listed = new Set([...operations.matchAll(/`(pondpilot_[a-z_]+)`/g)].map((match) => match[1]!))
    for (const family of own) expect(listed, family).toContain(family)
    for (const name of listed) expect(families, name).toContain(name)
    expect(operations).toContain("`pondpilot_process_*`")
    expect(operations).toContain("`pondpilot_nodejs_*`")
  })

  it("states the launcher's defaults and the log writer's bounds as they are in the code", () => {
    const launcher = readRepoFile("bin/pondpilot-proxy")
    const threads = /UV_THREADPOOL_SIZE=\$\{UV_THREADPOOL_SIZE:-(\d+)\}/.exec(launcher)![1]!
    expect(operations).toContain(`\`UV_THREADPOOL_SIZE\` (default \`${threads}\`)`)
    expect(launcher).toContain("PONDPILOT_ADDRESS_SPACE_LIMIT_KB")
    expect(operations).toContain("`PONDPILOT_ADDRESS_SPACE_LIMIT_KB`")
    const writer = readRepoFile("src/services/LogWriter.ts")
    expect(writer).toContain("options.maxQueuedLines ?? 10_000")
    expect(writer).toContain("options.maxQueuedChars ?? 8_000_000")
    expect(writer).toContain("Duration.seconds(3)")
    expect(operations).toContain("(10,000 lines or 8 MB)")
    expect(operations).toContain("for up to 3 s")
  })
})

describe("README: Deployment", () => {
  const dockerfile = parseDockerfile(readRepoFile("Dockerfile"))
  const runtime = dockerfile.stages.at(-1)!

  it("describes the image as the Dockerfile builds it", () => {
    expect(deployment).toContain(`\`${dockerfile.stages[0]!.base}\``)
    expect(deployment).toContain(`Three stages`)
    expect(dockerfile.stages).toHaveLength(3)
    for (const stage of dockerfile.stages) expect(deployment).toContain(`\`${stage.name}\``)
    expect(deployment).toContain(`user \`${instructionsOf(runtime, "USER")[0]!.args}\``)
    expect(deployment).toContain(
      `\`ENTRYPOINT ${JSON.stringify(instructionsOf(runtime, "ENTRYPOINT")[0]!.exec).replace(/","/g, '", "')}\``
    )
    expect(deployment).toContain(
      `\`CMD ${JSON.stringify(instructionsOf(runtime, "CMD")[0]!.exec).replace(/","/g, '", "')}\``
    )
    const env = stageEnv(runtime)
    expect(deployment).toContain(
      `\`ENV ${Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ")}\``
    )
    expect(deployment).toContain(`\`EXPOSE ${instructionsOf(runtime, "EXPOSE")[0]!.args}\``)
    const build = dockerfile.stages[0]!
    const install = instructionsOf(build, "RUN").find((run) => run.args.includes("install-extensions"))!
    expect(install.args).toContain("node scripts/install-extensions.mjs --dir /opt/pondpilot/extensions")
    expect(deployment).toContain("`node scripts/install-extensions.mjs --dir /opt/pondpilot/extensions`")
    // Every build argument that chooses the extensions' source is shown in use.
    for (const arg of instructionsOf(build, "ARG").map((i) => i.args.split("=")[0]!))
      expect(deployment).toContain(`--build-arg ${arg}=`)
    const healthcheck = instructionsOf(runtime, "HEALTHCHECK")[0]!.flags
    expect(deployment).toContain(
      `every ${healthcheck.interval!.replace("s", " s")} (timeout ${healthcheck.timeout!.replace("s", " s")}, ${healthcheck.retries} retries, ${healthcheck["start-period"]!.replace("s", " s")} start period)`
    )
  })

  it("gives compose's numbers and variables as the files have them", () => {
    const proxy = readYaml("docker-compose.yaml").services["pondpilot-proxy"]
    const demo = decodeConfig(readRepoFile("deploy/demo/config.yaml"), {
      ...productionSecrets,
      POSTGRES_URL: "postgresql://u:p@h/db",
      MYSQL_URL: "mysql://u:p@h/db"
    })
    const shutdown = `shutdown_timeout: ${Duration.toSeconds(demo.server.shutdown_timeout)}s`
    for (const text of [deployment, deployReadme]) {
      expect(text).toContain(`stop_grace_period: ${proxy.stop_grace_period}`)
      expect(text).toContain(shutdown)
    }
    expect(deployment).toContain(`Port \`${proxy.ports[0]}\``)
    expect(deployment).toContain(
      `memory limit ${proxy.deploy.resources.limits.memory}, reservation ${proxy.deploy.resources.reservations.memory}`
    )
    const envExample = parseEnvFile(readRepoFile(".env.example"))
    for (const name of [
      "API_KEY",
      "ENCRYPTION_KEY",
      "POSTGRES_URL",
      "MYSQL_URL",
      "DEMO_DB_PASSWORD",
      "JWT_SECRET",
      "LOG_LEVEL"
    ]) {
      expect(deployment, name).toContain(`\`${name}\``)
      expect(envExample, name).toHaveProperty(name)
    }
    // The README's sed fills exactly these two empty lines.
    expect(readRepoFile(".env.example")).toMatch(/^API_KEY=$/m)
    expect(readRepoFile(".env.example")).toMatch(/^ENCRYPTION_KEY=$/m)
    expect(deployment).toContain("--data @deploy/demo/query.json")
  })

  it("gives the Kubernetes numbers as the manifests have them", () => {
    const manifest = readYaml("deploy/kubernetes/deployment.yaml")
    const pod = manifest.spec.template.spec
    const container = pod.containers[0]
    const configMap = readYaml("deploy/kubernetes/configmap.yaml")
    const settings = decodeConfig(configMap.data["config.yaml"], {
      ...productionSecrets,
      POSTGRES_URL: "postgresql://u:p@h/db",
      MYSQL_URL: "mysql://u:p@h/db"
    })
    const preStop = container.lifecycle.preStop.exec.command[1]
    for (const text of [deployment, deployReadme]) {
      expect(text).toContain(`terminationGracePeriodSeconds: ${pod.terminationGracePeriodSeconds}`)
      expect(text).toContain(`shutdown_timeout: ${Duration.toSeconds(settings.server.shutdown_timeout)}s`)
    }
    expect(deployment).toContain(`\`preStop\` sleeps ${preStop} s`)
    expect(deployment).toContain(`${manifest.spec.replicas} replicas`)
    expect(deployment).toContain(
      `\`minAvailable: ${readYaml("deploy/kubernetes/poddisruptionbudget.yaml").spec.minAvailable}\``
    )
    const { limits, requests } = container.resources
    expect(deployment).toContain(
      `Requests ${requests.cpu} CPU / ${requests.memory}, limits ${limits.cpu} CPUs / ${limits.memory}`
    )
    expect(deployment).toContain(
      `(after ${container.livenessProbe.initialDelaySeconds} s, every ${container.livenessProbe.periodSeconds} s)`
    )
    expect(deployment).toContain(
      `(after ${container.readinessProbe.initialDelaySeconds} s, every ${container.readinessProbe.periodSeconds} s)`
    )
    expect(deployment).toContain(`\`${container.image}\``)
  })

  it("names only files that exist", () => {
    const named = [
      ...`${deployment}\n${operations}\n${deployReadme}`.matchAll(
        /`((?:deploy|test|scripts|bin|src)\/[^`\s]+|\.env\.example|Dockerfile|\.dockerignore|docker-compose\.yaml)`/g
      )
    ].map((match) => match[1]!)
    expect(named.length).toBeGreaterThan(10)
    for (const file of named) {
      const candidates = [file, path.join("deploy", file)]
      expect(
        candidates.some((candidate) => fs.existsSync(path.join(repoRoot, candidate))),
        file
      ).toBe(true)
    }
  })
})
