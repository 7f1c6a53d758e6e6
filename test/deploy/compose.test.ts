import * as fs from "node:fs"
import * as path from "node:path"
import { Duration, Redacted } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { variablesTheServerReads } from "../support/EnvironmentReads.js"
import { readDoc } from "../support/Markdown.js"
import {
  decodeConfig,
  durationSeconds,
  nginxTest,
  parseEnvFile,
  parseYaml,
  productionSecrets,
  readRepoFile,
  readYaml,
  referencedVariables,
  repoPathExists,
  repoRoot,
  which
} from "../support/RepoFiles.js"

const composeText = readRepoFile("docker-compose.yaml")
const compose = readYaml("docker-compose.yaml")
const proxy = compose.services["pondpilot-proxy"]
const envExampleText = readRepoFile(".env.example")
const envExample = parseEnvFile(envExampleText)
const demoConfigText = readRepoFile("deploy/demo/config.yaml")

/** The env the proxy container gets from compose when .env is .env.example plus real secrets. */
const demoEnv = { ...envExample, ...productionSecrets }

/**
 * A memory quantity in bytes: Docker reads `4G` as 4 GiB; Kubernetes reads `4Gi` as 4 GiB and `4G`
 * as 4·10⁹ (pass `kubernetes`).
 */
const sizeBytes = (text: string, kubernetes = false): number => {
  const match = /^(\d+(?:\.\d+)?)([kmgt]?)(i?)$/i.exec(String(text))
  if (match === null) throw new Error(`not a memory quantity: ${text}`)
  const power = ["", "k", "m", "g", "t"].indexOf(match[2]!.toLowerCase())
  return Number(match[1]) * (kubernetes && match[3] === "" ? 1000 : 1024) ** power
}

const secretNames = ["API_KEY", "ENCRYPTION_KEY", "JWT_SECRET", "POSTGRES_URL", "MYSQL_URL", "REDIS_URL"]

describe("docker-compose.yaml", () => {
  it("builds the image here and runs it with the demo's config, on the port that config listens on", () => {
    expect(repoPathExists(path.join(proxy.build.context, "Dockerfile"))).toBe(true)
    const settings = decodeConfig(demoConfigText, demoEnv)
    const [, containerPort] = String(proxy.ports[0]).split(":")
    expect(Number(containerPort)).toBe(settings.server.port)
    // CONFIG_FILE names the file a volume mounts, and that file is the demo's.
    const mounted = (proxy.volumes as Array<string>)
      .map((volume) => volume.split(":"))
      .find(([, target]) => target === proxy.environment.CONFIG_FILE)
    expect(mounted?.[0]).toBe("./deploy/demo/config.yaml")
    expect(proxy.restart).toBe("unless-stopped")
  })

  it("gives the container more memory than one DuckDB instance may use, and rotates its logs", () => {
    const settings = decodeConfig(demoConfigText, demoEnv)
    const { limits, reservations } = proxy.deploy.resources
    expect(sizeBytes(limits.memory)).toBeGreaterThan(settings.duckdb.settings.memory_limit)
    expect(sizeBytes(reservations.memory)).toBeLessThanOrEqual(sizeBytes(limits.memory))
    expect(proxy.logging.options["max-size"]).toMatch(/^\d+[kmg]$/)
    expect(Number(proxy.logging.options["max-file"])).toBeGreaterThan(1)
  })

  it("only references secrets, never holds them", () => {
    for (const name of secretNames) {
      const value = proxy.environment[name]
      if (value !== undefined) expect(value, name).toMatch(new RegExp(`^\\$\\{${name}(:[?-][^}]*)?\\}$`))
    }
    for (const service of ["postgres", "mariadb"]) {
      for (const [name, value] of Object.entries(
        compose.services[service].environment as Record<string, string>
      )) {
        if (/PASSWORD/.test(name) && name !== "MARIADB_RANDOM_ROOT_PASSWORD") {
          expect(value, `${service}.${name}`).toMatch(/^\$\{DEMO_DB_PASSWORD(:\?[^}]*)?\}$/)
        }
      }
    }
    expect(composeText).not.toContain("demo-only-password")
  })

  it("stops the container only after the server's own shutdown timeout", () => {
    const settings = decodeConfig(demoConfigText, demoEnv)
    const shutdown = Duration.toSeconds(settings.server.shutdown_timeout)
    expect(durationSeconds(proxy.stop_grace_period)).toBeGreaterThan(shutdown)
  })

  it("starts the proxy once both demo databases are healthy, and seeds them from deploy/demo", () => {
    expect(proxy.depends_on).toEqual({
      postgres: { condition: "service_healthy" },
      mariadb: { condition: "service_healthy" }
    })
    for (const [service, dir] of [
      ["postgres", "deploy/demo/postgres"],
      ["mariadb", "deploy/demo/mariadb"]
    ] as const) {
      const definition = compose.services[service]
      expect(definition.healthcheck.test.length).toBeGreaterThan(1)
      expect(definition.volumes).toContain(`./${dir}:/docker-entrypoint-initdb.d:ro`)
      expect(
        fs.readdirSync(path.join(repoRoot, dir)).filter((f) => f.endsWith(".sql")).length
      ).toBeGreaterThan(0)
      expect(definition.ports).toBeUndefined() // only the proxy is reachable
    }
    // The postgres check goes over TCP, which stays closed while the seed scripts run.
    expect(compose.services.postgres.healthcheck.test.join(" ")).toMatch(
      /pg_isready -h 127\.0\.0\.1 -U demo -d sales/
    )
    expect(compose.services.mariadb.healthcheck.test).toContain("--connect")
  })

  it("points the demo connection strings at the demo services, users, databases and password", () => {
    const { postgres, mariadb } = compose.services
    const pg = new URL(envExample.POSTGRES_URL!)
    expect(pg.protocol).toBe("postgresql:")
    expect(pg.hostname).toBe("postgres")
    expect(pg.username).toBe(postgres.environment.POSTGRES_USER)
    expect(pg.password).toBe(envExample.DEMO_DB_PASSWORD)
    expect(pg.pathname).toBe(`/${postgres.environment.POSTGRES_DB}`)
    const my = new URL(envExample.MYSQL_URL!)
    expect(my.protocol).toBe("mysql:")
    expect(my.hostname).toBe("mariadb")
    expect(my.username).toBe(mariadb.environment.MARIADB_USER)
    expect(my.password).toBe(envExample.DEMO_DB_PASSWORD)
    expect(my.pathname).toBe(`/${mariadb.environment.MARIADB_DATABASE}`)
  })

  it("uses only variables that .env.example documents", () => {
    const active = (text: string) => text.replace(/(^|\s)#.*$/gm, "")
    const used = new Set([
      ...referencedVariables(active(composeText)),
      ...referencedVariables(active(demoConfigText))
    ])
    expect(used).toContain("API_KEY")
    for (const name of used) expect(envExample, name).toHaveProperty(name)
    // The server's own variables are all explained there, set or commented.
    for (const name of [
      "API_KEY",
      "ENCRYPTION_KEY",
      "JWT_SECRET",
      "CONFIG_FILE",
      "PORT",
      "HOST",
      "LOG_LEVEL"
    ]) {
      expect(envExampleText, name).toMatch(new RegExp(`\\b${name}\\b`))
    }
    // No secret is filled in: the user generates them.
    expect(envExample.API_KEY).toBe("")
    expect(envExample.ENCRYPTION_KEY).toBe("")
  })
})

describe(".env.example", () => {
  /** Set (`NAME=`) or shown commented out (`# NAME=`). */
  const listed = new Set([...envExampleText.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]!))

  let read: Set<string>
  beforeAll(async () => {
    read = await variablesTheServerReads()
  })

  it("lists every variable the server and its launcher read, and nothing that nobody reads", () => {
    // Each way of reading one is found (a guard against a search that finds nothing).
    for (const name of [
      "API_KEY",
      "LOG_LEVEL",
      "ENCRYPTION_KEY_PREVIOUS",
      "UV_THREADPOOL_SIZE",
      "PONDPILOT_ADDRESS_SPACE_LIMIT_KB"
    ])
      expect(read, name).toContain(name)
    for (const name of read)
      expect(listed, `${name} is read by the server but not in .env.example`).toContain(name)
    const active = (text: string) => text.replace(/(^|\s)#.*$/gm, "")
    const usedByCompose = new Set([
      ...referencedVariables(active(composeText)),
      ...referencedVariables(active(demoConfigText))
    ])
    for (const name of listed) {
      expect(read.has(name) || usedByCompose.has(name), `${name} in .env.example is read by nothing`).toBe(
        true
      )
    }
  })

  it("reaches the container: compose passes on every variable it lists that the server reads", () => {
    const passed = new Set(Object.keys(proxy.environment))
    for (const name of Object.keys(envExample).filter((n) => read.has(n)))
      expect(passed, name).toContain(name)
    expect(proxy.environment.ENCRYPTION_KEY_PREVIOUS).toMatch(/^\$\{ENCRYPTION_KEY_PREVIOUS(:-)?\}$/)
  })
})

describe("deploy/demo/config.yaml", () => {
  it("loads as a production config and pre-attaches both demo databases read-only", () => {
    const settings = decodeConfig(demoConfigText, demoEnv)
    expect(settings.environment).toBe("production")
    expect(settings.security.read_only).toBe(true)
    expect(settings.server).toMatchObject({ host: "0.0.0.0", port: 8080 })
    expect(settings.duckdb.attached_databases.map(({ alias, type }) => ({ alias, type }))).toEqual([
      { alias: "sales", type: "postgres" },
      { alias: "crm", type: "mysql" }
    ])
    expect(settings.duckdb.attached_databases.map((db) => Redacted.value(db.connection_string))).toEqual([
      envExample.POSTGRES_URL,
      envExample.MYSQL_URL
    ])
    expect(settings.duckdb.extensions).toEqual(expect.arrayContaining(["postgres", "mysql"]))
  })
})

describe("deploy/config/config.example.yaml", () => {
  it("loads, and lists every section of the configuration", () => {
    const text = readRepoFile("deploy/config/config.example.yaml")
    const settings = decodeConfig(text, {})
    for (const section of [
      "server",
      "duckdb",
      "security",
      "query",
      "audit",
      "metrics",
      "state",
      "environment"
    ]) {
      expect(text).toMatch(new RegExp(`^${section}:`, "m"))
    }
    expect(settings.environment).toBe("development")
  })
})

// ---------------------------------------------------------------------------------------------

const k8sDir = "deploy/kubernetes"
const manifests = fs
  .readdirSync(path.join(repoRoot, k8sDir))
  .filter((file) => file.endsWith(".yaml"))
  .map((file) => ({ file, doc: readYaml(`${k8sDir}/${file}`) }))
const manifest = (kind: string) => {
  const found = manifests.find(({ doc }) => doc.kind === kind)
  if (found === undefined) throw new Error(`no ${kind} manifest`)
  return found.doc
}

const deployment = manifest("Deployment")
const podSpec = deployment.spec.template.spec
const container = podSpec.containers[0]
const configMap = manifest("ConfigMap")
const secret = manifest("Secret")
const configText: string = configMap.data["config.yaml"]
/** What the Secret gives the container, as the ConfigMap's `${VAR}`s need it. */
const configMapEnv = {
  ...productionSecrets,
  POSTGRES_URL: "postgresql://u:p@h/db",
  MYSQL_URL: "mysql://u:p@h/db",
  REDIS_URL: "redis://:p@pondpilot-redis:6379/0"
}

describe("deploy/kubernetes", () => {
  it("every manifest parses and names its kind, version and name", () => {
    // Each manifest is applied by the kustomization, except the Secret's template (created by hand).
    const resources: Array<string> = manifest("Kustomization").resources
    expect(manifests.map(({ file }) => file).sort()).toEqual(
      [
        ...resources.filter((entry) => entry.endsWith(".yaml")),
        "kustomization.yaml",
        "secret.template.yaml"
      ].sort()
    )
    for (const { file, doc } of manifests) {
      expect(doc.apiVersion, file).toBeTypeOf("string")
      expect(doc.kind, file).toBeTypeOf("string")
      if (doc.kind !== "Kustomization") expect(doc.metadata.name, file).toBeTypeOf("string")
    }
  })

  it("Deployment: several replicas, probes on the server's health routes and port, memory for every instance", () => {
    expect(deployment.spec.replicas).toBeGreaterThan(1)
    expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels)
    const settings = decodeConfig(configText, configMapEnv)
    expect(container.ports.map((port: { containerPort: number }) => port.containerPort)).toEqual([
      settings.server.port
    ])
    // Liveness is /health (it keeps answering while draining), readiness /ready.
    expect(container.livenessProbe.httpGet).toEqual({ path: "/health", port: settings.server.port })
    expect(container.readinessProbe.httpGet).toEqual({ path: "/ready", port: settings.server.port })
    // As the ConfigMap says: max_instances x memory_limit within the container's limit.
    const { limits, requests } = container.resources
    expect(settings.duckdb.max_instances * settings.duckdb.settings.memory_limit).toBeLessThan(
      sizeBytes(limits.memory, true)
    )
    expect(sizeBytes(requests.memory, true)).toBeLessThanOrEqual(sizeBytes(limits.memory, true))
  })

  it("Deployment: the grace period covers the preStop sleep plus the server's shutdown timeout", () => {
    const command: Array<string> = container.lifecycle.preStop.exec.command
    expect(command[0]).toBe("sleep")
    const preStop = Number(command[1])
    expect(preStop).toBeGreaterThan(0)
    const settings = decodeConfig(configText, configMapEnv)
    const shutdown = Duration.toSeconds(settings.server.shutdown_timeout)
    expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThan(preStop + shutdown)
  })

  it("Deployment: non-root, read-only root filesystem, writable /tmp only", () => {
    expect(podSpec.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" }
    })
    expect(podSpec.securityContext.runAsUser).toBeGreaterThan(0)
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] }
    })
    const mounts = Object.fromEntries(
      container.volumeMounts.map((mount: { name: string; mountPath: string }) => [mount.mountPath, mount])
    )
    expect(Object.keys(mounts).sort()).toEqual(["/config", "/tmp"])
    expect(mounts["/config"].readOnly).toBe(true)
    const volumes = Object.fromEntries(
      podSpec.volumes.map((volume: { name: string }) => [volume.name, volume])
    )
    expect(volumes[mounts["/tmp"].name].emptyDir).toBeDefined()
    expect(volumes[mounts["/config"].name].configMap.name).toBe(configMap.metadata.name)
  })

  it("Deployment: the config file comes from the ConfigMap, secrets only by reference", () => {
    const env = Object.fromEntries(
      container.env.map((entry: { name: string }) => [entry.name, entry])
    ) as Record<string, { value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }>
    expect(env.CONFIG_FILE!.value).toBe(`/config/${Object.keys(configMap.data)[0]}`)
    for (const name of secretNames.filter((n) => env[n] !== undefined)) {
      expect(env[name]!.value, name).toBeUndefined()
      expect(env[name]!.valueFrom!.secretKeyRef.name).toBe(secret.metadata.name)
    }
    for (const name of ["API_KEY", "ENCRYPTION_KEY"])
      expect(env[name]?.valueFrom?.secretKeyRef.key).toBe(name)
    // Every ${VAR} in the ConfigMap's config is provided by the container's environment.
    for (const name of referencedVariables(configText)) expect(env, name).toHaveProperty(name)
    // Every non-optional secret key the pod needs is in the Secret template.
    for (const entry of Object.values(env)) {
      const ref = entry.valueFrom?.secretKeyRef as { key: string; optional?: boolean } | undefined
      if (ref && !ref.optional) expect(secret.stringData, ref.key).toHaveProperty(ref.key)
    }
  })

  it("ConfigMap: a production config that loads and holds no secret", () => {
    const settings = decodeConfig(configText, configMapEnv)
    expect(settings.environment).toBe("production")
    expect(settings.server).toMatchObject({ host: "0.0.0.0", port: 8080 })
    expect(settings.server.trusted_proxies.length).toBeGreaterThan(0)
    expect(configText).not.toMatch(/:\/\/[^$\s"]+:[^$\s"]+@/) // no inline user:password@
    for (const db of parseYaml(configText, "config.yaml").duckdb.attached_databases) {
      expect(db.connection_string).toMatch(/^\$\{[A-Z_]+\}$/)
    }
  })

  it("Secret template: placeholders only, and left out of the kustomization", () => {
    expect(secret.type).toBe("Opaque")
    for (const [key, value] of Object.entries(secret.stringData)) expect(value, key).toBe("REPLACE_ME")
    const kustomization = manifest("Kustomization")
    expect(kustomization.resources).not.toContain("secret.template.yaml")
    for (const resource of kustomization.resources) {
      expect(fs.existsSync(path.join(repoRoot, k8sDir, resource)), resource).toBe(true)
    }
  })

  it("Service and PodDisruptionBudget select the Deployment's pods", () => {
    const labels = deployment.spec.template.metadata.labels
    const service = manifest("Service")
    expect(service.spec.selector).toEqual(labels)
    expect(service.spec.ports).toEqual([{ name: "http", port: 8080, targetPort: "http", protocol: "TCP" }])
    const pdb = manifest("PodDisruptionBudget")
    expect(pdb.spec.selector.matchLabels).toEqual(labels)
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas)
  })
})

/** Every document of every manifest a kustomization applies, following directories it lists. */
const applied = (dir: string): Array<{ file: string; doc: any }> =>
  readYaml(`${dir}/kustomization.yaml`).resources.flatMap((resource: string) =>
    resource.endsWith(".yaml")
      ? [{ file: `${dir}/${resource}`, doc: readYaml(`${dir}/${resource}`) }]
      : applied(`${dir}/${resource}`)
  )

/** `secretKeyRef`s anywhere under a value. */
const secretKeyRefs = (value: unknown): Array<{ name: string; key: string; optional?: boolean }> => {
  if (Array.isArray(value)) return value.flatMap(secretKeyRefs)
  if (value === null || typeof value !== "object") return []
  return Object.entries(value).flatMap(([key, child]) =>
    key === "secretKeyRef" ? [child as { name: string; key: string }] : secretKeyRefs(child)
  )
}

describe("the documented `kubectl create secret` and `kubectl apply -k`", () => {
  const kubernetesSection = readDoc("docs/deployment.md", "Kubernetes")
  const refs = applied(k8sDir).flatMap(({ doc }) => secretKeyRefs(doc))
  const required = [...new Set(refs.filter((ref) => !ref.optional).map((ref) => ref.key))]
  /** The `--from-literal=KEY=` keys of each `kubectl create secret` in a text. */
  const createdKeys = (text: string): Array<Array<string>> =>
    text
      .split("kubectl create secret generic ")
      .slice(1)
      .map((rest) => {
        expect(rest.split(/\s/)[0]).toBe(secret.metadata.name)
        // The command runs to the first line that does not continue with a backslash.
        const lines = rest.split("\n")
        const end = lines.findIndex((line) => !line.trimEnd().endsWith("\\"))
        const command = lines.slice(0, end + 1).join("\n")
        return [...command.matchAll(/--from-literal=(\w+)=/g)].map((key) => key[1]!)
      })

  it("creates every key the applied manifests refer to (the pods start), in docs/deployment.md and beside the manifests", () => {
    expect(required).toEqual(
      expect.arrayContaining(["API_KEY", "ENCRYPTION_KEY", "REDIS_URL", "REDIS_PASSWORD"])
    )
    for (const ref of refs) expect(ref.name).toBe(secret.metadata.name)
    const documents = {
      "docs/deployment.md": kubernetesSection,
      "deploy/README.md": readRepoFile("deploy/README.md"),
      "secret.template.yaml": readRepoFile(`${k8sDir}/secret.template.yaml`)
    }
    for (const [where, text] of Object.entries(documents)) {
      const commands = createdKeys(text)
      expect(commands.length, where).toBe(1)
      expect(commands[0]!.sort(), where).toEqual([...required].sort())
    }
    for (const ref of refs) expect(kubernetesSection, ref.key).toContain(`\`${ref.key}\``)
  })

  it("names every kind of object the kustomization applies", () => {
    const objects = applied(k8sDir).map(({ doc }) => doc)
    expect(objects.map((doc) => doc.metadata.name)).toContain("pondpilot-redis")
    for (const doc of objects) {
      const named = doc.kind.replace(/([a-z])([A-Z])/g, "$1 ?$2")
      expect(kubernetesSection, `${doc.kind} ${doc.metadata.name}`).toMatch(new RegExp(named))
    }
    expect(kubernetesSection).toContain("`pondpilot-redis`")
  })
})

describe("deploy/nginx/nginx.conf", () => {
  const nginx = readRepoFile("deploy/nginx/nginx.conf")
  const directives = nginx
    .split("\n")
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter((line) => line !== "")
    .join("\n")

  it("terminates TLS and forwards to the proxy's service name and port", () => {
    expect(directives).toMatch(/listen 443 ssl;/)
    expect(directives).toMatch(/ssl_certificate\s+\S+;/)
    expect(directives).toMatch(/server pondpilot-proxy:8080/)
    expect(directives).toMatch(/proxy_pass http:\/\/pondpilot_proxy;/)
    expect(compose.services).toHaveProperty("pondpilot-proxy")
    expect(manifest("Service").metadata.name).toBe("pondpilot-proxy")
  })

  it("passes the client address in X-Forwarded-For and X-Real-IP, and does not buffer results", () => {
    expect(directives).toMatch(/proxy_set_header X-Real-IP \$remote_addr;/)
    expect(directives).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/)
    expect(directives).toMatch(/proxy_buffering off;/)
    expect(nginx).toContain("trusted_proxies")
  })

  it("is structurally sound (balanced braces, statements terminated)", () => {
    let depth = 0
    for (const char of directives.replace(/"[^"]*"/g, "")) {
      if (char === "{") depth++
      if (char === "}") depth--
      expect(depth).toBeGreaterThanOrEqual(0)
    }
    expect(depth).toBe(0)
    for (const line of directives.replace(/"[^"]*"/g, '""').split("\n")) {
      expect(line, line).toMatch(/[;{}]$/)
    }
  })
})

const canRunNginx = which("nginx") && which("openssl")
if (!canRunNginx)
  console.warn("skipping `nginx -t` of deploy/nginx/nginx.conf: nginx or openssl is not installed")

describe.skipIf(!canRunNginx)("deploy/nginx/nginx.conf with nginx itself", () => {
  it("passes `nginx -t` (with a throwaway certificate and a resolvable upstream)", () => {
    expect(nginxTest(readRepoFile("deploy/nginx/nginx.conf"))).toBeDefined()
  })
})
