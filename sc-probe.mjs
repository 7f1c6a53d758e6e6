import { DuckDBInstance } from "@duckdb/node-api"
const db = await DuckDBInstance.create(undefined, { threads: "2", memory_limit: "512MB" })
const c = await db.connect()
const cases = {
  deepPlus: "SELECT " + Array(30000).fill("1").join("+"),
  deepParen: "SELECT " + "(".repeat(5000) + "1" + ")".repeat(5000),
  deepNot: "SELECT " + "NOT ".repeat(20000) + "true",
  inList: "SELECT 1 IN (" + Array.from({length: 20000}, (_, i) => i).join(",") + ")",
  deepSub: "SELECT " + "(SELECT ".repeat(2000) + "1" + ")".repeat(2000),
}
const which = process.argv[2]
const sql = cases[which]
let t = Date.now()
try { const r = await c.runAndReadAll("SELECT length(json_serialize_sql($1::VARCHAR))", [sql]); console.log(which, "serialize", r.getRows()[0][0], Date.now()-t) } catch (e) { console.log(which, "serialize err", e.message.slice(0,150), Date.now()-t) }
t = Date.now()
try { const p = await c.prepare(sql); console.log(which, "prepare ok", Date.now()-t) } catch (e) { console.log(which, "prepare err", e.message.slice(0,150), Date.now()-t) }
console.log("rss", Math.round(process.memoryUsage().rss/1e6))
