import { defineConfig } from "vitest/config"

// The image tier (`npm run test:image`): builds the container image from the Dockerfile and runs it
// with podman. Not part of `npm test`: it needs root, podman and a few minutes.
export default defineConfig({
  test: {
    include: ["test/image/**/*.test.ts"],
    globalSetup: ["test/image/setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Containers are heavy and some tests time a drain: one file at a time.
    fileParallelism: false
  }
})
