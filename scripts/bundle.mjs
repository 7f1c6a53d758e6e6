#!/usr/bin/env node
// Bundles the server into one file, dist/pondpilot-proxy.mjs, which the launcher runs. Loading only
// the code the server uses (Effect and its platform packages are tree-shaken) starts faster and
// keeps the idle process markedly smaller than loading every module of every package.
// DuckDB stays external: its native addon is loaded from node_modules as installed.
import { build } from "esbuild"

// @effect/platform-node's HTTP server module also holds its HTTP client (for `layerTest`), which
// imports undici, a CommonJS package esbuild cannot tree-shake: bundled, it is a megabyte of code
// evaluated at start-up and about 10 MiB of idle RSS for a client the server never uses. The server
// gets a stand-in that fails loudly if anything ever calls it.
const undiciUnused = {
  name: "undici-unused",
  setup(build) {
    build.onResolve({ filter: /^undici$/ }, (args) =>
      args.importer.includes("/@effect/platform-node/")
        ? { path: "undici", namespace: "undici-unused" }
        : undefined
    )
    build.onLoad({ filter: /.*/, namespace: "undici-unused" }, () => ({
      loader: "js",
      contents: [
        "const unused = () => { throw new Error('undici is not part of the PondPilot Proxy bundle') }",
        "export class Agent { constructor() { unused() } }",
        "export const getGlobalDispatcher = unused",
        "export default {}"
      ].join("\n")
    }))
  }
}

await build({
  entryPoints: ["src/main.ts"],
  outfile: "dist/pondpilot-proxy.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  // Whitespace and syntax only, identifiers untouched: stack traces stay readable, and the source V8
  // holds in memory stays one byte per character (comments of some dependencies are not ASCII).
  minifyWhitespace: true,
  minifySyntax: true,
  // No keepNames: identifiers are not minified, so names survive anyway, and its __name() helper
  // runs for every closure created on the query path (about 2% of the CPU at 64 connections).
  charset: "ascii",
  legalComments: "linked",
  external: ["@duckdb/node-api", "@duckdb/node-bindings", "@duckdb/node-bindings-*", "ioredis"],
  // CommonJS dependencies inside an ES module bundle still call require() for node's built-ins.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"
  },
  plugins: [undiciUnused],
  logLevel: "warning"
})
