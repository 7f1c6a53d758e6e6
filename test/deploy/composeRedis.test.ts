// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is the config and compose syntax under test
import * as fs from "node:fs"
import * as path from "node:path"
import { Redacted } from "effect"
import { describe, expect, it } from "vitest"
import {
  decodeConfig,
  parseEnvFile,
  productionSecrets,
  readRepoFile,
  readYaml,
  repoRoot
} from "../support/RepoFiles.js"

/** The Redis that replicas share state through, as compose and the Kubernetes manifests run it. */

const compose = readYaml("docker-compose.yaml")
const envExample = parseEnvFile(readRepoFile(".env.example"))

describe("docker-compose.yaml: redis", () => {
  const redis = compose.services.redis
  const proxy = compose.services["pondpilot-proxy"]

  it("runs Redis with a password from .env, passed on stdin, with an append-only file on a volume", () => {
    expect(redis.image).toMatch(/^redis:7/)
    expect(redis.environment.REDIS_PASSWORD).toMatch(/^\$\{REDIS_PASSWORD(:\?[^}]*)?\}$/)
    const command = redis.command.join(" ")
    expect(command).toContain("requirepass")
    expect(command).toContain("redis-server -")
    expect(command).toContain("--appendonly yes")
    expect(command).not.toContain(envExample.REDIS_PASSWORD)
    expect(redis.volumes).toEqual(["redis-data:/data"])
    expect(compose.volumes).toHaveProperty("redis-data")
    expect(redis.ports).toBeUndefined()
    expect(redis.healthcheck.test.join(" ")).toContain("redis-cli ping")
  })

  it("points the proxy at it: REDIS_URL from .env, state.redis_url in the demo config", () => {
    expect(proxy.environment.REDIS_URL).toMatch(/^\$\{REDIS_URL(:\?[^}]*)?\}$/)
    const url = new URL(envExample.REDIS_URL!)
    expect(url.protocol).toBe("redis:")
    expect(url.hostname).toBe("redis")
    expect(decodeURIComponent(url.password)).toBe(envExample.REDIS_PASSWORD)
    const settings = decodeConfig(readRepoFile("deploy/demo/config.yaml"), {
      ...envExample,
      ...productionSecrets,
      REDIS_URL: envExample.REDIS_URL!
    })
    expect(Redacted.value(settings.state.redis_url!)).toBe(envExample.REDIS_URL)
  })
})

const k8s = "deploy/kubernetes"
const redisDir = `${k8s}/redis`
const redisKustomization = readYaml(`${redisDir}/kustomization.yaml`)
const redisManifests = (redisKustomization.resources as Array<string>).map((file) =>
  readYaml(`${redisDir}/${file}`)
)
const redisManifest = (kind: string) => {
  const found = redisManifests.find((doc) => doc.kind === kind)
  if (found === undefined) throw new Error(`no ${kind} in ${redisDir}`)
  return found
}

describe("deploy/kubernetes: redis", () => {
  const deployment = redisManifest("Deployment")
  const service = redisManifest("Service")
  const policy = redisManifest("NetworkPolicy")
  const container = deployment.spec.template.spec.containers[0]
  const proxyDeployment = readYaml(`${k8s}/deployment.yaml`)
  const proxyLabels = proxyDeployment.spec.template.metadata.labels
  const secret = readYaml(`${k8s}/secret.template.yaml`)
  const configText: string = readYaml(`${k8s}/configmap.yaml`).data["config.yaml"]

  it("is part of the kustomization, and every file it names exists", () => {
    expect(readYaml(`${k8s}/kustomization.yaml`).resources).toContain("redis")
    for (const file of redisKustomization.resources) {
      expect(fs.existsSync(path.join(repoRoot, redisDir, file)), file).toBe(true)
    }
  })

  it("runs one non-root Redis, password from the Secret, on a read-only root filesystem", () => {
    expect(deployment.spec.replicas).toBe(1)
    expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels)
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true)
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false
    })
    const password = container.env.find((entry: { name: string }) => entry.name === "REDIS_PASSWORD")
    expect(password.valueFrom.secretKeyRef).toEqual({ name: secret.metadata.name, key: "REDIS_PASSWORD" })
    expect(secret.stringData).toHaveProperty("REDIS_PASSWORD")
    expect(container.command.join(" ")).toContain("--appendonly yes")
    expect(container.volumeMounts).toEqual([{ name: "data", mountPath: "/data" }])
  })

  it("is reachable as pondpilot-redis:6379, from the proxy's pods only", () => {
    expect(service.metadata.name).toBe("pondpilot-redis")
    const podLabels = deployment.spec.template.metadata.labels
    expect(podLabels).toMatchObject(service.spec.selector)
    expect(service.spec.ports).toEqual([{ name: "redis", port: 6379, targetPort: "redis", protocol: "TCP" }])
    expect(podLabels).toMatchObject(policy.spec.podSelector.matchLabels)
    expect(policy.spec.ingress).toEqual([
      { from: [{ podSelector: { matchLabels: proxyLabels } }], ports: [{ port: 6379, protocol: "TCP" }] }
    ])
  })

  it("is what the proxy's state.redis_url names, through REDIS_URL in the Secret", () => {
    expect(configText).toMatch(/state:\n\s+redis_url: "\$\{REDIS_URL\}"/)
    const env = proxyDeployment.spec.template.spec.containers[0].env.find(
      (entry: { name: string }) => entry.name === "REDIS_URL"
    )
    expect(env.valueFrom.secretKeyRef).toEqual({ name: secret.metadata.name, key: "REDIS_URL" })
    expect(secret.stringData.REDIS_URL).toBe("REPLACE_ME")
    expect(readRepoFile(`${k8s}/secret.template.yaml`)).toContain("@pondpilot-redis:6379")
  })
})
