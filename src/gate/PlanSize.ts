import type { Json } from "./SqlTree.js"

/**
 * How large a statement becomes once DuckDB has expanded it, estimated from its parse tree before
 * anything is bound. DuckDB inlines a CTE at every reference (always with `NOT MATERIALIZED`, and
 * the serialized tree does not say which were marked), so a chain of CTEs that each reference the
 * previous one twice doubles at every link: 22 links in 1.6 KB of SQL bind millions of UNION
 * branches, with memory outside `memory_limit` and deaf to interrupts. Measured on 1.5.5, binding
 * costs about 30 µs per expanded parse-tree node, so the limit below keeps any plan to seconds.
 *
 * The count is conservative: every CTE is taken as inlined, a name defined in several scopes takes
 * its largest definition, a function call whose name is a CTE's counts as a reference to it (macros
 * are counted this way in `expandedCatalog`), and a reference a recursive CTE makes to itself counts
 * once.
 */

/** Parse-tree nodes (JSON objects) a statement may expand to. */
export const maxExpandedNodes = 250_000

type JsonObject = { readonly [key: string]: Json }

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** A subtree's own nodes, and how often it names each CTE-like relation. */
interface Summary {
  objects: number
  readonly refs: Map<string, number>
  /** Tables it names without a qualifier: a CTE of that name comes first (these are in `refs` too). */
  readonly bareTables: Map<string, number>
  /** Tables it names with a schema or catalog: never a CTE. */
  readonly qualifiedTables: Map<string, number>
}

const summary = (): Summary => ({
  objects: 0,
  refs: new Map(),
  bareTables: new Map(),
  qualifiedTables: new Map()
})

const add = (counts: Map<string, number>, name: string, count: number, limit: number) =>
  counts.set(name, Math.min((counts.get(name) ?? 0) + count, limit + 1))

interface Walked {
  readonly root: Summary
  /** CTE bodies by lower-cased name (a name may be defined in several scopes). */
  readonly ctes: Map<string, Array<Summary>>
}

const cteQuery = (entry: Json): { name: string; query: Json } | undefined => {
  if (!isObject(entry) || typeof entry.key !== "string" || !isObject(entry.value)) return undefined
  const query = entry.value.query
  return query === undefined ? undefined : { name: entry.key.toLowerCase(), query }
}

/** The tables (maybe views) a subtree names, bare or qualified, as they are counted. */
const tablesOf = (node: JsonObject, into: Summary): Map<string, number> | undefined => {
  if (node.type !== "BASE_TABLE" || typeof node.table_name !== "string") return undefined
  return node.schema_name === "" && node.catalog_name === "" ? into.bareTables : into.qualifiedTables
}

/** An unqualified relation (maybe a CTE or a view) or function (maybe a macro) the node names. */
const referencedName = (node: JsonObject): string | undefined => {
  if (node.type === "BASE_TABLE" && node.schema_name === "" && node.catalog_name === "")
    return typeof node.table_name === "string" ? node.table_name.toLowerCase() : undefined
  if (node.class === "FUNCTION" && node.schema === "" && node.catalog === "")
    return typeof node.function_name === "string" ? node.function_name.toLowerCase() : undefined
  return undefined
}

/** One pass over the tree; CTE bodies are summarised apart from the scope that defines them. */
const walk = (statement: Json): Walked => {
  const ctes = new Map<string, Array<Summary>>()
  const root = summary()
  // An explicit stack: client SQL may nest deeply.
  const stack: Array<{ node: Json; into: Summary }> = [{ node: statement, into: root }]
  while (stack.length > 0) {
    const { node, into } = stack.pop()!
    if (Array.isArray(node)) {
      for (const child of node) stack.push({ node: child, into })
      continue
    }
    if (!isObject(node)) continue
    into.objects++
    const name = referencedName(node)
    if (name !== undefined) into.refs.set(name, (into.refs.get(name) ?? 0) + 1)
    const tables = tablesOf(node, into)
    if (tables !== undefined) {
      const table = String(node.table_name).toLowerCase()
      tables.set(table, (tables.get(table) ?? 0) + 1)
    }
    for (const key in node) {
      const child = node[key] ?? null
      if (key === "cte_map" && isObject(child) && Array.isArray(child.map)) {
        for (const entry of child.map) {
          const cte = cteQuery(entry)
          if (cte === undefined) continue
          const body = summary()
          stack.push({ node: cte.query, into: body })
          // Registered now, filled as the walk reaches it (the stack holds the same object).
          const known = ctes.get(cte.name)
          if (known === undefined) ctes.set(cte.name, [body])
          else known.push(body)
        }
        continue
      }
      stack.push({ node: child, into })
    }
  }
  return { root, ctes }
}

/**
 * How large a statement becomes, and how that depends on the views it names: DuckDB expands a view
 * wherever it is named, as it inlines a CTE, but the gate judges text alone and cannot know them.
 */
export interface Expansion {
  /** Nodes after inlining every CTE reference, each table or view named counting as one. */
  readonly nodes: number
  /** How often each table or view (lower-cased) is named once CTEs are inlined; qualified names too. */
  readonly tables: ReadonlyMap<string, number>
}

interface Weight {
  readonly size: number
  readonly tables: Map<string, number>
}

/** Adds the tables `summary` names itself (not through a CTE). */
const namedTables = (
  summary: Summary,
  ctes: ReadonlyMap<string, unknown>,
  into: Map<string, number>,
  limit: number
) => {
  for (const [name, count] of summary.bareTables) if (!ctes.has(name)) add(into, name, count, limit)
  for (const [name, count] of summary.qualifiedTables) add(into, name, count, limit)
}

/** Nodes after inlining every CTE reference, and the tables named then; both saturate just past `limit`. */
export const expansion = (statements: ReadonlyArray<Json>, limit: number = maxExpandedNodes): Expansion => {
  let total = 0
  const tables = new Map<string, number>()
  for (const statement of statements) {
    const { root, ctes } = walk(statement)
    const weights = new Map<string, Weight>()
    const inProgress = new Set<string>()
    const weigh = (summary: Summary): Weight => {
      let size = summary.objects
      const named = new Map<string, number>()
      namedTables(summary, ctes, named, limit)
      for (const [name, count] of summary.refs) {
        if (size > limit) break
        const definitions = ctes.get(name)
        // Not a CTE (a table, a view), or a recursive CTE naming itself: one node, already counted.
        if (definitions === undefined || inProgress.has(name)) continue
        let weight = weights.get(name)
        if (weight === undefined) {
          inProgress.add(name)
          let largest = 0
          const inner = new Map<string, number>()
          for (const definition of definitions) {
            const each = weigh(definition)
            largest = Math.max(largest, each.size)
            for (const [table, times] of each.tables) inner.set(table, Math.max(inner.get(table) ?? 0, times))
          }
          inProgress.delete(name)
          weight = { size: largest, tables: inner }
          weights.set(name, weight)
        }
        size += count * weight.size
        for (const [table, times] of weight.tables) add(named, table, count * times, limit)
      }
      return { size: Math.min(size, limit + 1), tables: named }
    }
    const weighed = weigh(root)
    total += weighed.size
    for (const [table, times] of weighed.tables) add(tables, table, times, limit)
    // Bodies no reference reaches are still parsed and bound once.
    for (const [name, definitions] of ctes)
      if (!weights.has(name))
        for (const definition of definitions) {
          total += definition.objects
          namedTables(definition, ctes, tables, limit)
        }
    if (total > limit) return { nodes: limit + 1, tables }
  }
  return { nodes: total, tables }
}

/** Nodes after inlining every CTE reference; saturates just past `limit`. */
export const expandedNodes = (statements: ReadonlyArray<Json>, limit: number = maxExpandedNodes): number =>
  expansion(statements, limit).nodes

/** A view of the instance's own catalog: its name (lower-cased) and its query's expansion. */
export interface ViewExpansion {
  readonly name: string
  readonly expansion: Expansion
}

/**
 * Each view's size once expanded, the views it names expanded in turn (DuckDB binds a view's query
 * wherever the view is named); saturates just past `limit`. A view naming itself through others
 * cannot be bound, so a cycle adds nothing.
 */
export const viewSizes = (
  views: ReadonlyArray<ViewExpansion>,
  limit: number = maxExpandedNodes
): Map<string, number> => {
  const byName = new Map<string, Array<Expansion>>()
  for (const view of views) {
    const known = byName.get(view.name)
    if (known === undefined) byName.set(view.name, [view.expansion])
    else known.push(view.expansion)
  }
  const sizes = new Map<string, number>()
  const inProgress = new Set<string>()
  const sizeOf = (name: string): number => {
    const known = sizes.get(name)
    if (known !== undefined) return known
    const definitions = byName.get(name)
    if (definitions === undefined || inProgress.has(name)) return 0
    inProgress.add(name)
    let largest = 0
    for (const definition of definitions) largest = Math.max(largest, withViews(definition, sizeOf, limit))
    inProgress.delete(name)
    sizes.set(name, largest)
    return largest
  }
  for (const name of byName.keys()) sizeOf(name)
  return sizes
}

const withViews = (expansion: Expansion, sizeOf: (name: string) => number, limit: number): number => {
  let size = expansion.nodes
  for (const [name, count] of expansion.tables) {
    if (size > limit) break
    size += count * sizeOf(name)
  }
  return Math.min(size, limit + 1)
}

/** A statement's size once the views it names (`sizes`, from `viewSizes`) are expanded too. */
export const expandedWithViews = (
  expansion: Expansion,
  sizes: ReadonlyMap<string, number>,
  limit: number = maxExpandedNodes
): number => withViews(expansion, (name) => sizes.get(name) ?? 0, limit)

/**
 * The expansion of a catalog's stored views and macros (an attached DuckDB file), each referencing
 * the others by name as DuckDB expands them while binding: as if every object were a CTE and one
 * statement named each of them once.
 */
export const expandedCatalog = (
  objects: ReadonlyArray<{ readonly name: string; readonly tree: Json }>,
  limit: number = maxExpandedNodes
): number =>
  expandedNodes(
    [
      {
        cte_map: { map: objects.map(({ name, tree }) => ({ key: name, value: { query: tree } })) },
        uses: objects.map(({ name }) => ({
          type: "BASE_TABLE",
          schema_name: "",
          catalog_name: "",
          table_name: name
        }))
      }
    ],
    limit
  )
