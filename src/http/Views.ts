import { formatSize } from "../domain/Units.js"
import type { InstanceSummary } from "../services/InstanceRegistry.js"
import type { RunningQuery } from "../services/QueryTracker.js"
import type { InstanceInfo, RunningQueryInfo } from "./Schemas.js"

/** How service values look on the wire. */

export const instanceView = (instance: InstanceSummary): typeof InstanceInfo.Type => ({
  id: instance.id,
  createdAt: new Date(instance.descriptor.createdAt).toISOString(),
  lastUsedAt: new Date(instance.lastUsedAt).toISOString(),
  databases: instance.databases.map(({ alias, type }) => ({ alias, type })),
  settings: {
    threads: instance.descriptor.settings.threads,
    memoryLimit: formatSize(instance.descriptor.settings.memoryLimitBytes)
  }
})

export const runningQueryView = (query: RunningQuery, now: number): typeof RunningQueryInfo.Type => ({
  id: query.id,
  instanceId: query.instanceId,
  startedAt: new Date(query.startedAt).toISOString(),
  elapsedMs: Math.max(0, now - query.startedAt),
  queryType: query.queryType ?? null
})
