import { DuckDBInstance } from "@duckdb/node-api"
const db = await DuckDBInstance.create(undefined, { threads: "2", memory_limit: "512MB" })
const c = await db.connect()
const n = Number(process.argv[2]); const mat = process.argv[3] ?? "NOT MATERIALIZED"
const ctes = ["c0 AS (SELECT 1 AS x)"]
for (let k = 1; k <= n; k++) ctes.push(`c${k} AS ${mat} (SELECT x FROM c${k-1} UNION ALL SELECT x FROM c${k-1})`)
const sql = `WITH ${ctes.join(", ")} SELECT count(*) FROM c${n}`
let t = Date.now()
const r = await c.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [sql])
const j = String(r.getRows()[0][0]); console.log(n, mat, "serialize len", j.length, Date.now()-t)
if (process.argv[4]) console.log(j.slice(0, 3000))
t = Date.now()
try { const p = await c.prepare(sql); console.log("prepare ok", Date.now()-t) } catch (e) { console.log("prepare err", e.message.slice(0,150), Date.now()-t) }
console.log("rss", Math.round(process.memoryUsage().rss/1e6))
