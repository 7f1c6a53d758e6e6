// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is the compose syntax under test
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { parseDocument } from "yaml"
import {
  decodeConfig,
  nginxTest,
  parseEnvFile,
  productionSecrets,
  readRepoFile,
  readYaml,
  repoPathExists,
  which
} from "../support/RepoFiles.js"

/**
 * The deployment guide's scaling and TLS examples: docker-compose.scale.yaml (several replicas behind
 * nginx, with the redis service), deploy/nginx/scale.conf, and deploy/caddy/Caddyfile beside the
 * nginx TLS example. No Docker engine here: the compose files are parsed and merged as Compose
 * would for what matters (ports, replicas, addresses); nginx and Caddy check their own configs.
 */

const base = readYaml("docker-compose.yaml")
const overrideText = readRepoFile("docker-compose.scale.yaml")
const overrideDocument = parseDocument(overrideText, { uniqueKeys: true })
const override = overrideDocument.toJS()
const proxyName = "pondpilot-proxy"
const demoConfigText = readRepoFile("deploy/demo/config.yaml")
const envExample = parseEnvFile(readRepoFile(".env.example"))

/** The published host ports of a service: `"8080:80"` → 8080. */
const hostPorts = (service: { ports?: Array<string> }): Array<string> =>
  (service.ports ?? []).map((port) => String(port).split(":").slice(-2, -1)[0]!).filter(Boolean)

describe("docker-compose.scale.yaml", () => {
  it("parses as YAML, and resets (not merges) the proxy's published ports with Compose's !reset", () => {
    expect(overrideDocument.errors).toEqual([])
    const ports = overrideDocument.getIn(["services", proxyName, "ports"], true) as { tag?: string }
    expect(ports.tag).toBe("!reset")
    expect(override.services[proxyName].ports).toEqual([])
  })

  it("runs several proxies and publishes one host port, nginx's, where the single proxy's was", () => {
    const merged = { ...base.services, ...override.services }
    merged[proxyName] = { ...base.services[proxyName], ...override.services[proxyName] }
    expect(merged[proxyName].deploy.replicas).toBeGreaterThan(1)
    // Replicas need generated names: a fixed one would clash.
    expect(merged[proxyName].container_name).toBeUndefined()
    const published = Object.values<any>(merged).flatMap(hostPorts)
    expect(published).toEqual(hostPorts(base.services[proxyName]))
    expect(hostPorts(merged.nginx)).toEqual(["8080"])
    expect(merged.redis).toBeDefined() // the replicas' shared state, from the base file
    expect(merged.nginx.depends_on).toEqual({ [proxyName]: { condition: "service_healthy" } })
    for (const volume of merged.nginx.volumes as Array<string>)
      expect(repoPathExists(volume.split(":")[0]!), volume).toBe(true)
  })

  it("trusts nginx's fixed address, and only it, as the proxies' trusted_proxies", () => {
    const nginxAddress = override.services.nginx.networks.default.ipv4_address as string
    const subnet = override.networks.default.ipam.config[0].subnet as string
    expect(nginxAddress.split(".").slice(0, 3)).toEqual(subnet.split(".").slice(0, 3))
    const trusted = override.services[proxyName].environment.TRUSTED_PROXY as string
    expect(trusted).toBe(`${nginxAddress}/32`)
    const env = { ...envExample, ...productionSecrets }
    expect(decodeConfig(demoConfigText, { ...env, TRUSTED_PROXY: trusted }).server.trusted_proxies).toEqual([
      trusted
    ])
    // The single-proxy demo believes no forwarded address.
    expect(decodeConfig(demoConfigText, env).server.trusted_proxies).toEqual(["127.0.0.1/32"])
    expect(base.services[proxyName].environment.TRUSTED_PROXY).toBe("${TRUSTED_PROXY:-}")
  })

  it("points nginx at the proxy's service name and container port", () => {
    const conf = readRepoFile("deploy/nginx/scale.conf")
    const containerPort = String(base.services[proxyName].ports[0]).split(":").at(-1)
    expect(conf).toContain(`server ${proxyName}:${containerPort};`)
    expect(conf).toMatch(/listen 80;/)
    expect(override.services.nginx.ports).toEqual(["8080:80"])
    for (const directive of [
      "proxy_set_header X-Forwarded-For $remote_addr;",
      "proxy_set_header X-Real-IP $remote_addr;",
      "proxy_buffering off;"
    ])
      expect(conf).toContain(directive)
  })
})

const canRunNginx = which("nginx") && which("openssl")
if (!canRunNginx)
  console.warn("skipping `nginx -t` of deploy/nginx/scale.conf: nginx or openssl is not installed")

describe.skipIf(!canRunNginx)("deploy/nginx/scale.conf with nginx itself", () => {
  it("passes `nginx -t`", () => {
    expect(() => nginxTest(readRepoFile("deploy/nginx/scale.conf"))).not.toThrow()
  })
})

const hasCaddy = which("caddy")
if (!hasCaddy) console.warn("skipping the Caddyfile checks: caddy is not installed (apt-get install caddy)")

describe.skipIf(!hasCaddy)("deploy/caddy/Caddyfile with Caddy itself", () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "pondpilot-caddy-"))
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }))
  // Caddy's storage and config go to a temporary home, never the machine's.
  const caddy = (...args: Array<string>) =>
    execFileSync("caddy", [...args, "--config", "deploy/caddy/Caddyfile", "--adapter", "caddyfile"], {
      cwd: path.resolve(import.meta.dirname, "../.."),
      env: { PATH: process.env.PATH ?? "", HOME: home, XDG_DATA_HOME: home, XDG_CONFIG_HOME: home },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"]
    })

  it("`caddy adapt`: TLS for the site, the proxy's service as upstream, streaming, the client's address", () => {
    const config = JSON.parse(caddy("adapt"))
    const server = config.apps.http.servers.srv0
    expect(server.listen).toEqual([":443"])
    const route = server.routes[0]
    expect(route.match).toEqual([{ host: ["api.example.com"] }])
    const handlers = route.handle[0].routes.flatMap((inner: any) => inner.handle)
    const proxy = handlers.find((handler: any) => handler.handler === "reverse_proxy")
    expect(proxy.upstreams).toEqual([{ dial: `${proxyName}:8080` }])
    expect(proxy.flush_interval).toBe(-1)
    expect(proxy.headers.request.set["X-Real-Ip"]).toEqual(["{http.request.remote.host}"])
    expect(proxy.transport.response_header_timeout).toBeGreaterThan(30e9)
    expect(handlers.find((handler: any) => handler.handler === "request_body").max_size).toBe(1_000_000)
  })

  it("`caddy validate` accepts it", () => {
    expect(() => caddy("validate")).not.toThrow()
  })
})
