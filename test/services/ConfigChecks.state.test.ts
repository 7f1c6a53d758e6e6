// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is the config syntax under test, not a template slip
import { describe, expect, it } from "vitest"
import { settingsProblems } from "../../src/services/ConfigChecks.js"
import { lines, settingsOf } from "../support/ConfigFiles.js"

const withRedis = (url: string, env: Record<string, string> = { ENCRYPTION_KEY: "k".repeat(32) }) =>
  settingsProblems(settingsOf(lines("state:", "  redis_url: ${REDIS_URL}"), { REDIS_URL: url, ...env }))

describe("state.redis_url", () => {
  it("takes redis:// and rediss:// (TLS) URLs, with credentials and a database number", () => {
    expect(withRedis("redis://cache:6379")).toEqual([])
    expect(withRedis("rediss://user:secret-XXXX@cache.example.com:6380/2")).toEqual([])
  })

  it("refuses anything else without quoting it", () => {
    for (const url of ["http://user:secret-XXXX@cache:6379", "cache:6379", "secret-XXXX"]) {
      const problems = withRedis(url)
      expect(problems).toEqual(["state.redis_url: expected a redis:// or rediss:// (TLS) URL"])
      expect(problems.join("\n")).not.toContain("XXXX")
    }
  })

  it("needs ENCRYPTION_KEY: replicas must open each other's sealed connection strings", () => {
    expect(withRedis("redis://cache:6379", {})).toEqual([
      "state.redis_url: replicas sharing state must share ENCRYPTION_KEY, which is not set"
    ])
  })
})
