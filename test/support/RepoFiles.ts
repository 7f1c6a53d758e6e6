import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Either } from "effect"
import { parseDocument } from "yaml"
import { loadSettings, type Settings } from "../../src/domain/ConfigLoader.js"

/** Helpers for the tests of the deployment files. */

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url))

export const readRepoFile = (relative: string): string =>
  fs.readFileSync(path.join(repoRoot, relative), "utf8")

export const repoPathExists = (relative: string): boolean => fs.existsSync(path.join(repoRoot, relative))

/** Parses YAML strictly (duplicate keys are errors) and fails the test on any problem. */
export const parseYaml = (text: string, where: string): any => {
  const document = parseDocument(text, { uniqueKeys: true })
  if (document.errors.length > 0)
    throw new Error(`${where}: ${document.errors.map((e) => e.message).join("; ")}`)
  return document.toJS()
}

export const readYaml = (relative: string): any => parseYaml(readRepoFile(relative), relative)

/** The `${VAR}` names a text refers to (compose's `${VAR:-x}` / `${VAR:?x}` included). */
export const referencedVariables = (text: string): Set<string> =>
  new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?-][^}]*)?\}/g)].map((match) => match[1]!))

/** Secrets good enough for `environment: production`, and the shared store the examples point at. */
export const productionSecrets = {
  API_KEY: "test-api-key-0123456789",
  ENCRYPTION_KEY: "0123456789abcdef0123456789abcdef0123456789abcdef",
  REDIS_URL: "redis://:demo-password@redis:6379/0"
}

/** Decodes a config text exactly as the server would with CONFIG_FILE pointing at it. */
export const decodeConfig = (text: string, env: Readonly<Record<string, string>>): Settings => {
  const file = "/config/config.yaml"
  const loaded = loadSettings({
    env: { ...env, CONFIG_FILE: file },
    cwd: "/",
    readFile: (candidate) => (candidate === file ? text : undefined)
  })
  if (Either.isLeft(loaded)) throw new Error(`config does not load:\n${loaded.left.join("\n")}`)
  return loaded.right
}

/** `KEY=value` lines of an env file (comments and blank lines skipped). */
export const parseEnvFile = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .split("\n")
      .map((line) => /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim()))
      .filter((match) => match !== null)
      .map((match) => [match[1]!, match[2]!])
  )

/** Docker/compose duration text (`30s`, `1m30s`) in seconds. */
export const durationSeconds = (text: string): number => {
  let total = 0
  for (const match of String(text).matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(match[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[match[2] as "ms" | "s" | "m" | "h"]
  }
  return total
}

/** Whether a command is on the PATH. */
export const which = (binary: string): boolean => {
  try {
    execFileSync("sh", ["-c", `command -v ${binary}`], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

/**
 * `nginx -t` of a config as the repository has it, in a temporary prefix: a throwaway certificate
 * in place of the example's, `pondpilot-proxy` (a compose or Kubernetes service name) resolved as
 * loopback, and the pid and error log in the prefix. Returns nginx's output; throws when it fails.
 */
export const nginxTest = (config: string): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pondpilot-nginx-"))
  try {
    fs.mkdirSync(path.join(dir, "logs"))
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=api.example.com"].concat([
        "-keyout",
        path.join(dir, "key.pem"),
        "-out",
        path.join(dir, "cert.pem")
      ]),
      { stdio: "ignore" }
    )
    const local = config
      .replace(/\/etc\/ssl\/certs\/\S+\.crt/, path.join(dir, "cert.pem"))
      .replace(/\/etc\/ssl\/private\/\S+\.key/, path.join(dir, "key.pem"))
      .replace("server pondpilot-proxy:8080", "server 127.0.0.1:8080")
      .replace(
        "worker_processes auto;",
        `worker_processes auto;\npid ${dir}/nginx.pid;\nerror_log ${dir}/logs/error.log;`
      )
    fs.writeFileSync(path.join(dir, "nginx.conf"), local)
    return execFileSync("nginx", ["-t", "-p", dir, "-c", path.join(dir, "nginx.conf")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"]
    })
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
