// Child processes under test: start, wait until healthy, read memory from /proc, stop.
import { spawn } from "node:child_process"
import fs from "node:fs"
import net from "node:net"
import { setTimeout as sleep } from "node:timers/promises"

/** A port nobody listens on right now (the kernel picks it; the tiny race is acceptable here). */
export const freePort = () =>
  new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.unref()
    probe.on("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })

const kibField = (status, name) => {
  const match = status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))
  return match ? Number(match[1]) : undefined
}

/** Current (VmRSS) and peak (VmHWM) resident memory in MiB, or undefined when the process is gone. */
export const memoryOf = (pid) => {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
    return { rssMiB: kibField(status, "VmRSS") / 1024, peakMiB: kibField(status, "VmHWM") / 1024 }
  } catch {
    return undefined
  }
}

/**
 * Resets the kernel's peak-RSS mark (VmHWM) to the current RSS, so the next reading is the peak of
 * what happened in between (Linux ≥ 4.0: writing 5 to clear_refs). False when not allowed.
 */
export const resetPeak = (pid) => {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, "5")
    return true
  } catch {
    return false
  }
}

/**
 * Samples VmRSS every `intervalMs` while `work` runs and combines it with VmHWM (reset first), so a
 * peak is caught even if the kernel does not allow the reset or a spike falls between samples.
 */
export const withPeakRss = async (pid, work, intervalMs = 25) => {
  const resettable = resetPeak(pid)
  let polledMiB = memoryOf(pid)?.rssMiB ?? 0
  const timer = setInterval(() => {
    const now = memoryOf(pid)?.rssMiB ?? 0
    if (now > polledMiB) polledMiB = now
  }, intervalMs)
  try {
    const result = await work()
    const hwm = resettable ? (memoryOf(pid)?.peakMiB ?? 0) : 0
    return { result, peakRssMiB: Math.max(polledMiB, hwm) }
  } finally {
    clearInterval(timer)
  }
}

/**
 * CPU time (user + system) the process has used so far, in milliseconds, from /proc/<pid>/stat
 * (clock ticks of 10 ms), or undefined when unreadable. Differences over a run give CPU per request,
 * which other work on a shared machine disturbs far less than requests per second.
 */
export const cpuMillisOf = (pid) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    // Fields after the command name (which may hold spaces) start after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond
  } catch {
    return undefined
  }
}
const ticksPerSecond = 100

export const tail = (file, lines = 15) => {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n")
  } catch {
    return "(no output)"
  }
}

/** Starts a child with stdout and stderr sent to files (the audit log is the proxy's stdout). */
export const startProcess = ({ name, command, args, cwd, env, stdoutFile, stderrFile }) => {
  const out = fs.openSync(stdoutFile, "w")
  const err = fs.openSync(stderrFile, "w")
  const child = spawn(command, args, { cwd, env, stdio: ["ignore", out, err] })
  fs.closeSync(out)
  fs.closeSync(err)
  const proc = { name, child, pid: child.pid, stdoutFile, stderrFile, exitCode: undefined }
  proc.exited = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      proc.exitCode = code ?? signal
      resolve(proc.exitCode)
    })
    child.on("error", (error) => {
      proc.exitCode = error.message
      resolve(proc.exitCode)
    })
  })
  return proc
}

/** Polls `url` until it answers 200; fails early with the child's stderr when the child exits. */
export const waitHealthy = async (proc, url, timeoutMs = 90_000) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (proc.exitCode !== undefined) {
      throw new Error(
        `${proc.name} exited (${proc.exitCode}) before it was healthy:\n${tail(proc.stderrFile)}`
      )
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      await response.arrayBuffer()
      if (response.status === 200) return
    } catch {
      // not listening yet
    }
    await sleep(200)
  }
  throw new Error(`${proc.name} was not healthy after ${timeoutMs / 1000}s:\n${tail(proc.stderrFile)}`)
}

/** SIGTERM, then SIGKILL after `graceMs` if it is still alive. Only ever signals its own child. */
export const stopProcess = async (proc, graceMs = 15_000) => {
  if (proc.exitCode !== undefined) return
  proc.child.kill("SIGTERM")
  const done = await Promise.race([proc.exited.then(() => true), sleep(graceMs).then(() => false)])
  if (!done) {
    proc.child.kill("SIGKILL")
    await proc.exited
  }
}
