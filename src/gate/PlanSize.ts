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
}

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
  const root: Summary = { objects: 0, refs: new Map() }
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
    for (const key in node) {
      const child = node[key] ?? null
      if (key === "cte_map" && isObject(child) && Array.isArray(child.map)) {
        for (const entry of child.map) {
          const cte = cteQuery(entry)
          if (cte === undefined) continue
          const body: Summary = { objects: 0, refs: new Map() }
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

/** Nodes after inlining every CTE reference; saturates just past `limit`. */
export const expandedNodes = (statements: ReadonlyArray<Json>, limit: number = maxExpandedNodes): number => {
  let total = 0
  for (const statement of statements) {
    const { root, ctes } = walk(statement)
    const weights = new Map<string, number>()
    const inProgress = new Set<string>()
    const weigh = (summary: Summary): number => {
      let size = summary.objects
      for (const [name, count] of summary.refs) {
        if (size > limit) break
        const definitions = ctes.get(name)
        // Not a CTE (a table, a view), or a recursive CTE naming itself: one node, already counted.
        if (definitions === undefined || inProgress.has(name)) continue
        let weight = weights.get(name)
        if (weight === undefined) {
          inProgress.add(name)
          weight = 0
          for (const definition of definitions) weight = Math.max(weight, weigh(definition))
          inProgress.delete(name)
          weights.set(name, weight)
        }
        size += count * weight
      }
      return Math.min(size, limit + 1)
    }
    total += weigh(root)
    // Bodies no reference reaches are still parsed and bound once.
    for (const [name, definitions] of ctes)
      if (!weights.has(name)) for (const definition of definitions) total += definition.objects
    if (total > limit) return limit + 1
  }
  return total
}

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
