import { Duration } from "effect"
import { describe, expect, it } from "vitest"
import { instructionsOf, parseDockerfile, stageEnv } from "../support/Dockerfile.js"
import { readDoc } from "../support/Markdown.js"
import {
  decodeConfig,
  parseEnvFile,
  productionSecrets,
  readRepoFile,
  readYaml
} from "../support/RepoFiles.js"

/** docs/deployment.md (and deploy/README.md beside the files) give the numbers the files have. */

const deployment = readDoc("docs/deployment.md")
const deployReadme = readRepoFile("deploy/README.md")

describe("docs/deployment.md", () => {
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
    // The page's sed fills exactly these two empty lines.
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
})
