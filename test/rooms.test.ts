import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import ts from "typescript"
import { describe, expect, it } from "vitest"

// The rooms of src, top to bottom: a file may import from its own room or any room below it.
const rooms = [
  "main",
  "layers",
  "http",
  "services",
  "duckdb",
  "attach",
  "gate",
  "params",
  "results",
  "sql",
  "domain",
  "collections"
] as const

const srcDir = join(import.meta.dirname, "..", "src")

const sourceFiles = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [relative(srcDir, join(dir, entry.name))]
        : []
  )

// Every relative import of each file (value or type: a type-only circle still ties two modules together),
// resolved to a path under src. Package imports are not part of the graph.
const importGraph = (): ReadonlyMap<string, ReadonlyArray<string>> =>
  new Map(
    sourceFiles(srcDir).map((file) => {
      const text = readFileSync(join(srcDir, file), "utf8")
      const imports = ts
        .preProcessFile(text, true, true)
        .importedFiles.map((imported) => imported.fileName)
        .filter((name) => name.startsWith("."))
        .map((name) => join(dirname(file), name).replace(/\.js$/, ".ts"))
      return [file, imports]
    })
  )

const roomOf = (file: string): number => {
  const top = file.includes("/") ? file.slice(0, file.indexOf("/")) : file.replace(/\.ts$/, "")
  return rooms.indexOf(top as (typeof rooms)[number])
}

// Tarjan's strongly connected components; every component of more than one file is a circle.
const circles = (graph: ReadonlyMap<string, ReadonlyArray<string>>): ReadonlyArray<ReadonlyArray<string>> => {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const found: Array<Array<string>> = []
  const visit = (file: string): void => {
    index.set(file, index.size)
    low.set(file, index.get(file)!)
    stack.push(file)
    onStack.add(file)
    for (const next of graph.get(file) ?? []) {
      if (!index.has(next)) {
        visit(next)
        low.set(file, Math.min(low.get(file)!, low.get(next)!))
      } else if (onStack.has(next)) {
        low.set(file, Math.min(low.get(file)!, index.get(next)!))
      }
    }
    if (low.get(file) === index.get(file)) {
      const component: Array<string> = []
      let member: string
      do {
        member = stack.pop()!
        onStack.delete(member)
        component.push(member)
      } while (member !== file)
      if (component.length > 1 || graph.get(file)?.includes(file)) found.push(component.sort())
    }
  }
  for (const file of graph.keys()) if (!index.has(file)) visit(file)
  return found
}

describe("the rooms of src", () => {
  const graph = importGraph()

  it("every source file lives in a known room", () => {
    expect([...graph.keys()].filter((file) => roomOf(file) < 0)).toEqual([])
  })

  it("every relative import names a source file", () => {
    const missing = [...graph].flatMap(([file, imports]) =>
      imports.filter((target) => !graph.has(target)).map((target) => `${file} imports ${target}`)
    )
    expect(missing).toEqual([])
  })

  it("imports point only downwards", () => {
    const upward = [...graph].flatMap(([file, imports]) =>
      imports.filter((target) => roomOf(target) < roomOf(file)).map((target) => `${file} imports ${target}`)
    )
    expect(upward).toEqual([])
  })

  it("no import circles", () => {
    expect(circles(graph).map((circle) => circle.join(" <-> "))).toEqual([])
  })
})
