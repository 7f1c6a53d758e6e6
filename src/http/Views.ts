import type { InstanceSummary } from "../services/InstanceRegistry.js"
import type { RunningQuery } from "../services/QueryTracker.js"
import type { InstanceInfo, RunningQueryInfo } from "./Schemas.js"

/** How service values look on the wire. */

const sizeText = (bytes: number): string => {
  for (const [unit, size] of [
    ["TB", 1e12],
    ["GB", 1e9],
    ["MB", 1e6],
    ["KB", 1e3]
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`
  }
  return `${bytes}B`
}

export const instanceView = (instance: InstanceSummary): typeof InstanceInfo.Type => ({
  id: instance.id,
  createdAt: new Date(instance.descriptor.createdAt).toISOString(),
  lastUsedAt: new Date(instance.lastUsedAt).toISOString(),
  databases: instance.databases.map(({ alias, type }) => ({ alias, type })),
  settings: {
    threads: instance.descriptor.settings.threads,
    memoryLimit: sizeText(instance.descriptor.settings.memoryLimitBytes)
  }
})

export const runningQueryView = (query: RunningQuery, now: number): typeof RunningQueryInfo.Type => ({
  id: query.id,
  instanceId: query.instanceId,
  startedAt: new Date(query.startedAt).toISOString(),
  elapsedMs: Math.max(0, now - query.startedAt),
  queryType: query.queryType ?? null
})
