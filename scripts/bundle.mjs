#!/usr/bin/env node
// Bundles the server into one file, dist/pondpilot-proxy.mjs, which the launcher runs. Loading only
// the code the server uses (Effect and its platform packages are tree-shaken) starts faster and
// keeps the idle process markedly smaller than loading every module of every package.
// DuckDB stays external: its native addon is loaded from node_modules as installed.
import { build } from "esbuild"

await build({
  entryPoints: ["src/main.ts"],
  outfile: "dist/pondpilot-proxy.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  // Whitespace and syntax only, names kept: stack traces stay readable, and the source V8 holds in
  // memory stays one byte per character (comments of some dependencies are not ASCII).
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  charset: "ascii",
  legalComments: "linked",
  external: ["@duckdb/node-api", "@duckdb/node-bindings", "@duckdb/node-bindings-*", "ioredis"],
  // CommonJS dependencies inside an ES module bundle still call require() for node's built-ins.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"
  },
  logLevel: "warning"
})
