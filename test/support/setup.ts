import { beforeEach } from "vitest"
import { capturedLogs } from "./Logs.js"

// Servers' logs stay quiet while tests pass; a failing test shows what its file's servers printed.
beforeEach(({ onTestFailed }) => {
  onTestFailed(() => {
    const logs = capturedLogs()
    if (logs !== "") console.error(`Server logs up to the failure:\n${logs}`)
  })
})
