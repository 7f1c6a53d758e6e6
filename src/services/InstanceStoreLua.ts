import { luaScript } from "./SharedState.js"

/**
 * The Redis layout of the instance store, and the scripts that change it atomically.
 *
 * - `pondpilot:instance:<id>`  hash: owner, createdAt, settings (JSON), databases (JSON, each
 *   connection string sealed by SecretBox), version
 * - `pondpilot:instances`      sorted set: id scored by last use (ms); its size is the fleet's count
 *   of API-created instances, its low end the idle ones
 * - `pondpilot:owner:<owner>`  set of the owner's instance ids
 * - `pondpilot:instance-changes`  pub/sub channel: `{"id","version"}` after an attach or detach,
 *   `{"id","deleted":true}` after a delete or an idle eviction, published by the same script that
 *   made the change
 *
 * The scripts compute the keys of one instance from its id, so they expect one Redis server (or a
 * primary with replicas), not Redis Cluster.
 */
export const redisKeys = {
  instancePrefix: "pondpilot:instance:",
  index: "pondpilot:instances",
  ownerPrefix: "pondpilot:owner:",
  channel: "pondpilot:instance-changes"
} as const

/** KEYS: instance, index, owner set. ARGV: max, id, owner, createdAt, settings, databases. 1 or 0 (full). */
export const createScript = luaScript(`
if redis.call("ZCARD", KEYS[2]) >= tonumber(ARGV[1]) then return 0 end
if redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
redis.call("HSET", KEYS[1], "owner", ARGV[3], "createdAt", ARGV[4], "settings", ARGV[5], "databases", ARGV[6], "version", "1")
redis.call("ZADD", KEYS[2], ARGV[4], ARGV[2])
redis.call("SADD", KEYS[3], ARGV[2])
return 1
`)

/** KEYS: instance, index. ARGV: id. The hash's fields plus lastUsedAt, flat; empty when unknown. */
export const getScript = luaScript(`
local fields = redis.call("HGETALL", KEYS[1])
if #fields == 0 then return fields end
table.insert(fields, "lastUsedAt")
table.insert(fields, redis.call("ZSCORE", KEYS[2], ARGV[1]) or "0")
return fields
`)

/** KEYS: owner set, index. ARGV: instance key prefix. One flat field list per instance, with its id. */
export const listScript = luaScript(`
local out = {}
for _, id in ipairs(redis.call("SMEMBERS", KEYS[1])) do
  local fields = redis.call("HGETALL", ARGV[1] .. id)
  if #fields > 0 then
    table.insert(fields, "id")
    table.insert(fields, id)
    table.insert(fields, "lastUsedAt")
    table.insert(fields, redis.call("ZSCORE", KEYS[2], id) or "0")
    table.insert(out, fields)
  else
    redis.call("SREM", KEYS[1], id)
  end
end
return out
`)

/** KEYS: instance. ARGV: expected version, databases, channel, id. The new version; 0 conflict; -1 unknown. */
export const updateScript = luaScript(`
local version = redis.call("HGET", KEYS[1], "version")
if not version then return -1 end
if version ~= ARGV[1] then return 0 end
local next = redis.call("HINCRBY", KEYS[1], "version", 1)
redis.call("HSET", KEYS[1], "databases", ARGV[2])
redis.call("PUBLISH", ARGV[3], cjson.encode({ id = ARGV[4], version = next }))
return next
`)

const removeFunction = `
local function remove(id)
  local key = ARGV[1] .. id
  local owner = redis.call("HGET", key, "owner")
  redis.call("DEL", key)
  redis.call("ZREM", KEYS[1], id)
  if owner then redis.call("SREM", ARGV[2] .. owner, id) end
  redis.call("PUBLISH", ARGV[3], cjson.encode({ id = id, deleted = true }))
end
`

/** KEYS: index. ARGV: instance prefix, owner prefix, channel, id. 1 deleted, 0 unknown. */
export const deleteScript = luaScript(`${removeFunction}
if redis.call("EXISTS", ARGV[1] .. ARGV[4]) == 0 then
  redis.call("ZREM", KEYS[1], ARGV[4])
  return 0
end
remove(ARGV[4])
return 1
`)

/** KEYS: index. ARGV: instance prefix, owner prefix, channel, cutoff (ms), limit. The evicted ids. */
export const evictScript = luaScript(`${removeFunction}
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[4], "LIMIT", 0, tonumber(ARGV[5]))
for _, id in ipairs(ids) do remove(id) end
return ids
`)
