/**
 * The GCRA step of `RateLimitStore.ts` as one atomic Redis script, for a store shared by replicas.
 * Same algorithm, same integer-microsecond arithmetic, so a Redis store and the in-memory store
 * decide identically.
 *
 * KEYS[1]  the bucket key (e.g. `pondpilot:rl:<client>`)
 * ARGV[1]  now in microseconds, or "" to use the Redis server's clock (`TIME`), which keeps replicas
 *          with drifting clocks on one schedule
 * ARGV[2]  emission interval T in microseconds
 * ARGV[3]  tolerance τ in microseconds
 * returns  {1, 0} when allowed, {0, wait in microseconds} when refused
 *
 * The key holds TAT as an integer string and expires (PX) exactly when TAT passes, which is when its
 * state becomes worthless: Redis memory stays bounded by the active clients. A refused request
 * writes nothing. `TIME` inside a script needs Redis 5 or later (effect replication).
 */
export const gcraLuaScript = `
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local now
if ARGV[1] == "" then
  local time = redis.call("TIME")
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
else
  now = tonumber(ARGV[1])
end
local tat = tonumber(redis.call("GET", KEYS[1]) or "")
if tat == nil or tat < now then
  tat = now
end
local allow_at = tat - tolerance
if now < allow_at then
  return {0, allow_at - now}
end
local next_tat = tat + interval
redis.call("SET", KEYS[1], string.format("%.0f", next_tat), "PX", math.ceil((next_tat - now) / 1000))
return {1, 0}
`
