import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { promisify } from "node:util"
import { cacheDir, imageTag, podman, podmanStatus } from "./podman.js"

/**
 * A local stand-in for `node:20-bookworm-slim`, which cannot be pulled here: Debian bookworm from
 * debootstrap (minbase, the mirror in this machine's apt sources), this machine's own Node and npm
 * in /usr/local as the official image has them, and this machine's CA bundle (npm inside the build
 * goes through whatever TLS setup this machine trusts). Test scaffolding only: nothing of it enters
 * the image a user builds.
 *
 * It is built once and kept in the test's podman storage, tagged with a hash of its inputs, so that
 * a later run with the same inputs reuses it.
 */

const run = promisify(execFile)
const recipe = "standin-v2 debootstrap --variant=minbase --include=ca-certificates bookworm"
const caBundle = "/etc/ssl/certs/ca-certificates.crt"
const caInImage = "/usr/local/share/pondpilot-test/ca-certificates.crt"

/** The Debian mirror from this machine's apt sources (one-line or deb822 format). */
export const debianMirror = (): string => {
  const files = [
    "/etc/apt/sources.list",
    ...(fs.existsSync("/etc/apt/sources.list.d")
      ? fs.readdirSync("/etc/apt/sources.list.d").map((f) => path.join("/etc/apt/sources.list.d", f))
      : [])
  ].filter((file) => fs.existsSync(file))
  for (const file of files) {
    const text = fs.readFileSync(file, "utf8")
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(text)
    if (oneLine) return oneLine[1]!
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1]
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1]?.split(/\s+/) ?? []
      if (uri && suites.includes("bookworm")) return uri
    }
  }
  return "http://deb.debian.org/debian"
}

const nodeBinary = () => fs.realpathSync(process.execPath)

/** npm as this Node has it: <prefix>/lib/node_modules/npm. */
const npmDir = () => {
  const candidate = path.resolve(path.dirname(nodeBinary()), "../lib/node_modules/npm")
  if (!fs.existsSync(path.join(candidate, "package.json")))
    throw new Error(`npm not found beside ${nodeBinary()} (looked in ${candidate})`)
  return candidate
}

const sha256File = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex")

export const standinTag = (): string => {
  const hash = createHash("sha256")
  hash.update(recipe)
  hash.update(debianMirror())
  hash.update(sha256File(nodeBinary()))
  hash.update(fs.readFileSync(path.join(npmDir(), "package.json")))
  hash.update(sha256File(caBundle))
  return `localhost/pondpilot-node-standin:${hash.digest("hex").slice(0, 16)}`
}

/**
 * A new stand-in makes everything built on the older ones dead weight: their tags, the project's
 * image built on them and the build's cached stages (untagged, so pruned).
 */
const dropOlderStandins = async (keep: string) => {
  const repository = keep.slice(0, keep.lastIndexOf(":"))
  const listed = await podman(["images", "--format", "{{.Repository}}:{{.Tag}}", repository])
  const older = listed.stdout.split("\n").filter((t) => t.startsWith(`${repository}:`) && t !== keep)
  if (older.length === 0) return
  await podmanStatus(["rmi", "-f", imageTag])
  await podmanStatus(["image", "prune", "-f"])
  for (const tag of older) await podmanStatus(["rmi", tag])
  await podmanStatus(["image", "prune", "-f"])
}

/** The stand-in's tag, built now unless the storage already holds one built from the same inputs. */
export const ensureStandin = async (log: (line: string) => void): Promise<string> => {
  const tag = standinTag()
  if ((await podmanStatus(["image", "exists", tag])).code === 0) return tag
  const started = Date.now()
  const work = fs.mkdtempSync(path.join(cacheDir, "standin-"))
  const rootfs = path.join(work, "rootfs")
  try {
    const mirror = debianMirror()
    log(`image tests: building the Node base stand-in from ${mirror} (once; about a minute)`)
    await run("debootstrap", ["--variant=minbase", "--include=ca-certificates", "bookworm", rootfs, mirror], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 600_000
    })
    const local = path.join(rootfs, "usr/local")
    fs.mkdirSync(path.join(local, "bin"), { recursive: true })
    fs.mkdirSync(path.join(local, "lib/node_modules"), { recursive: true })
    fs.copyFileSync(nodeBinary(), path.join(local, "bin/node"))
    fs.chmodSync(path.join(local, "bin/node"), 0o755)
    fs.cpSync(npmDir(), path.join(local, "lib/node_modules/npm"), { recursive: true, verbatimSymlinks: true })
    fs.symlinkSync("../lib/node_modules/npm/bin/npm-cli.js", path.join(local, "bin/npm"))
    fs.symlinkSync("../lib/node_modules/npm/bin/npx-cli.js", path.join(local, "bin/npx"))
    fs.mkdirSync(path.dirname(path.join(rootfs, caInImage)), { recursive: true })
    fs.copyFileSync(caBundle, path.join(rootfs, caInImage))
    // As Debian's official images are: no package lists, no downloaded packages, and apt told to
    // keep no caches (their docker-clean), so that a Dockerfile's apt-get layers weigh what they
    // would on the real base.
    for (const dir of ["var/cache/apt/archives", "var/lib/apt/lists"]) {
      fs.rmSync(path.join(rootfs, dir), { recursive: true, force: true })
      fs.mkdirSync(path.join(rootfs, dir, "partial"), { recursive: true })
    }
    for (const file of fs.readdirSync(path.join(rootfs, "var/cache/apt")).filter((f) => f.endsWith(".bin")))
      fs.rmSync(path.join(rootfs, "var/cache/apt", file))
    fs.writeFileSync(
      path.join(rootfs, "etc/apt/apt.conf.d/docker-clean"),
      [
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
        'Dir::Cache::pkgcache "";',
        'Dir::Cache::srcpkgcache "";',
        ""
      ].join("\n")
    )
    const archive = path.join(work, "rootfs.tar")
    await run("tar", ["--numeric-owner", "-C", rootfs, "-cf", archive, "."], { timeout: 300_000 })
    await podman(
      [
        "import",
        "--change",
        `ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        "--change",
        `ENV NODE_EXTRA_CA_CERTS=${caInImage}`,
        "--change",
        'CMD ["node"]',
        archive,
        tag
      ],
      { timeoutMs: 300_000 }
    )
    await dropOlderStandins(tag)
    log(`image tests: stand-in ${tag} built in ${Math.round((Date.now() - started) / 1000)} s`)
    return tag
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
  }
}
