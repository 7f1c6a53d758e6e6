import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { inject } from "vitest"
import { freePort, tempDir } from "../support/Process.js"
import { podman, podmanStatus, ulimitArgs } from "./podman.js"

/** Containers of the project's image, as an operator would run them: read-only, on the host network. */

const provided = inject("image")
/** Why the tier skips here (printed once by the set-up), or undefined when it runs. */
export const skipReason = "skip" in provided ? provided.skip : undefined
export const image = "tag" in provided ? provided.tag : ""
/** The local Node base stand-in the image was built on. */
export const baseImage = "base" in provided ? provided.base : ""

export const apiKey = "image-test-key-0123456789abcdef"
export const encryptionKey = "image-test-encryption-key-0123456789abcdef"

export interface Container {
  readonly name: string
  readonly url: string
  readonly port: number
  logs(): Promise<string>
  /** `podman exec` inside it. */
  exec(command: ReadonlyArray<string>): Promise<{ code: number; stdout: string; stderr: string }>
  inspect(format: string): Promise<string>
  /** Waits for the container to end; its exit code. */
  wait(): Promise<number>
  remove(): Promise<void>
}

export interface RunOptions {
  readonly env?: Readonly<Record<string, string>>
  /** A config file's text, mounted read-only at /config/config.yaml as the guide shows. */
  readonly config?: string
  readonly extraArgs?: ReadonlyArray<string>
  readonly command?: ReadonlyArray<string>
}

const names: Array<string> = []

/** Starts a container (detached) on a free port; `API_KEY` and `ENCRYPTION_KEY` unless env overrides. */
export const runContainer = async (options: RunOptions = {}): Promise<Container> => {
  const port = await freePort()
  const name = `pondpilot-image-test-${randomBytes(4).toString("hex")}`
  names.push(name)
  const env: Record<string, string> = {
    PORT: String(port),
    API_KEY: apiKey,
    ENCRYPTION_KEY: encryptionKey,
    ...options.env
  }
  const mounts: Array<string> = []
  if (options.config !== undefined) {
    const dir = tempDir("image-config")
    fs.chmodSync(dir, 0o755)
    const file = path.join(dir, "config.yaml")
    fs.writeFileSync(file, options.config, { mode: 0o644 })
    mounts.push("-v", `${file}:/config/config.yaml:ro`)
    env.CONFIG_FILE = "/config/config.yaml"
  }
  await podman([
    ...["run", "-d", "--name", name, "--network", "host", "--read-only"],
    ...ulimitArgs(),
    ...mounts,
    ...Object.entries(env)
      .filter(([, value]) => value !== "")
      .flatMap(([key, value]) => ["-e", `${key}=${value}`]),
    ...(options.extraArgs ?? []),
    image,
    ...(options.command ?? [])
  ])
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    logs: async () => {
      const out = await podmanStatus(["logs", name])
      return `${out.stdout}${out.stderr}`
    },
    exec: (command) => podmanStatus(["exec", name, ...command]),
    inspect: async (format) => (await podman(["inspect", "--format", format, name])).stdout.trim(),
    wait: async () => Number((await podman(["wait", name], { timeoutMs: 120_000 })).stdout.trim()),
    remove: async () => {
      await podmanStatus(["rm", "-f", "-t", "0", name])
    }
  }
}

/** Removes every container this file started (afterAll). */
export const removeAll = async () => {
  await Promise.all(names.splice(0).map((name) => podmanStatus(["rm", "-f", "-t", "0", name])))
}

/** Polls /health until it answers; fails with the container's logs. */
export const waitHealthy = async (container: Container, timeoutMs = 60_000): Promise<number> => {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    const ok = await fetch(`${container.url}/health`).then(
      (response) => response.ok,
      () => false
    )
    if (ok) return Date.now() - started
    const running = await podmanStatus(["inspect", "--format", "{{.State.Running}}", container.name])
    if (running.stdout.trim() === "false")
      throw new Error(`the container exited before answering /health:\n${await container.logs()}`)
    await sleep(100)
  }
  throw new Error(`the container did not answer /health within ${timeoutMs} ms:\n${await container.logs()}`)
}

export const query = async (container: Container, sql: string, instance = "default") => {
  const response = await fetch(`${container.url}/v1/instances/${instance}/query`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": apiKey },
    body: JSON.stringify({ query: sql })
  })
  return { status: response.status, body: (await response.json()) as any }
}
