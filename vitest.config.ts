import { configDefaults, defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The container image tier runs on its own: `npm run test:image` (vitest.image.config.ts).
    exclude: [...configDefaults.exclude, "test/image/**"],
    // Server logs are captured and printed only for a failing test (test/support/Logs.ts).
    setupFiles: ["test/support/setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // DuckDB instances and child processes are heavy; two workers match the two cores we test on.
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } }
  }
})
