import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { ClientInstancesLabel, Metrics, poolInstanceLabel } from "../../src/services/Metrics.js"
import { samples } from "../support/PromText.js"

const render = Effect.flatMap(Metrics, (metrics) => metrics.render())

describe("Metrics", () => {
  it.scoped("serves Prometheus text with every family, on its own registry", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics
      metrics.recordRequest({
        method: "POST",
        route: "/v1/instances/:id/query",
        status: 200,
        durationMs: 12
      })
      metrics.recordQuery({ queryType: "SELECT", outcome: "success", durationMs: 10, rowsReturned: 150 })
      metrics.recordRateLimited()
      metrics.recordAuthFailure("invalid")
      metrics.recordError("sql_error")
      metrics.registerInstanceSource(() => 3)
      metrics.registerPoolSource(() => [{ instance: "default", inUse: 2, idle: 3 }])
      const { contentType, body } = yield* render
      expect(contentType).toContain("text/plain; version=0.0.4")
      for (const family of [
        "pondpilot_http_requests_total",
        "pondpilot_http_request_duration_seconds",
        "pondpilot_queries_total",
        "pondpilot_query_duration_seconds",
        "pondpilot_query_rows_returned",
        "pondpilot_instances_active",
        "pondpilot_pool_connections",
        "pondpilot_rate_limited_total",
        "pondpilot_auth_failures_total",
        "pondpilot_errors_total",
        "pondpilot_process_resident_memory_bytes",
        "pondpilot_nodejs_eventloop_lag_seconds",
        "pondpilot_nodejs_heap_size_used_bytes"
      ]) {
        expect(body, family).toContain(`# TYPE ${family} `)
      }
      expect(samples(body, "pondpilot_http_requests_total")).toEqual([
        { labels: { method: "POST", route: "/v1/instances/:id/query", status: "200" }, value: 1 }
      ])
      expect(samples(body, "pondpilot_http_request_duration_seconds_count")).toEqual([
        { labels: { method: "POST", route: "/v1/instances/:id/query", status: "200" }, value: 1 }
      ])
      expect(samples(body, "pondpilot_http_request_duration_seconds_sum")[0]!.value).toBeCloseTo(0.012)
      expect(samples(body, "pondpilot_queries_total")).toEqual([
        { labels: { query_type: "SELECT", outcome: "success" }, value: 1 }
      ])
      expect(samples(body, "pondpilot_query_rows_returned_sum")).toEqual([
        { labels: { query_type: "SELECT" }, value: 150 }
      ])
      expect(samples(body, "pondpilot_instances_active")).toEqual([{ labels: {}, value: 3 }])
      expect(samples(body, "pondpilot_pool_connections")).toEqual([
        { labels: { instance: "default", state: "in_use" }, value: 2 },
        { labels: { instance: "default", state: "idle" }, value: 3 }
      ])
      expect(samples(body, "pondpilot_rate_limited_total")).toEqual([{ labels: {}, value: 1 }])
      expect(samples(body, "pondpilot_auth_failures_total")).toEqual([
        { labels: { reason: "invalid" }, value: 1 }
      ])
      expect(samples(body, "pondpilot_errors_total")).toEqual([{ labels: { code: "sql_error" }, value: 1 }])
      expect(body).not.toContain("inst_abc")
    }).pipe(Effect.provide(Metrics.Default))
  )

  it.scoped("keeps counts apart per service instance (no global registry)", () =>
    Effect.gen(function* () {
      const first = Context.get(yield* Layer.build(Metrics.Default), Metrics)
      const second = Context.get(yield* Layer.build(Layer.fresh(Metrics.Default)), Metrics)
      first.recordRateLimited()
      expect(samples((yield* first.render()).body, "pondpilot_rate_limited_total")).toEqual([
        { labels: {}, value: 1 }
      ])
      const body = (yield* second.render()).body
      expect(samples(body, "pondpilot_rate_limited_total")).toEqual([{ labels: {}, value: 0 }])
    })
  )

  it.scoped("reports only live pools, and survives a failing source", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics
      const unregister = metrics.registerPoolSource(() => [{ instance: "inst_gone", inUse: 1, idle: 0 }])
      metrics.registerPoolSource(() => {
        throw new Error("pool closed mid-scrape")
      })
      expect((yield* render).body).toContain('instance="inst_gone"')
      unregister()
      expect((yield* render).body).not.toContain("inst_gone")
    }).pipe(Effect.provide(Metrics.Default))
  )

  it.scoped("names client instances only behind authentication; open, their pools are summed", () =>
    Effect.gen(function* () {
      expect(poolInstanceLabel("default", true, false)).toBe("default")
      expect(poolInstanceLabel("inst_abc", false, false)).toBe(ClientInstancesLabel)
      expect(poolInstanceLabel("inst_abc", false, true)).toBe("inst_abc")
      const metrics = yield* Metrics
      metrics.registerPoolSource(() =>
        ["inst_a", "inst_b"].map((id) => ({
          instance: poolInstanceLabel(id, false, false),
          inUse: 1,
          idle: 2
        }))
      )
      const pools = samples((yield* render).body, "pondpilot_pool_connections")
      expect(pools).toEqual([
        { labels: { instance: ClientInstancesLabel, state: "in_use" }, value: 2 },
        { labels: { instance: ClientInstancesLabel, state: "idle" }, value: 4 }
      ])
    }).pipe(Effect.provide(Metrics.Default))
  )

  it.scoped("bounds label cardinality whatever clients send", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics
      const methods = ["GET", "POST", "DELETE", "PUT", "BREW", "OPTIONS"]
      for (let i = 0; i < 2_000; i++) {
        // Route labels come from the route table (bounded there: test/http/routes.test.ts).
        metrics.recordRequest({
          method: methods[i % methods.length]!,
          route: "/v1/instances/:id",
          status: 200 + (i % 5),
          durationMs: 1
        })
        metrics.recordQuery({ queryType: `TYPE_${i}`, outcome: "success", durationMs: 1, rowsReturned: 1 })
        metrics.recordAuthFailure(`reason ${i}`)
        metrics.recordError(`code_${i}`)
      }
      const { body } = yield* render
      const requests = samples(body, "pondpilot_http_requests_total")
      expect(new Set(requests.map((sample) => sample.labels.method))).toEqual(
        new Set(["GET", "POST", "DELETE", "PUT", "OTHER", "OPTIONS"])
      )
      expect(new Set(requests.map((sample) => sample.labels.status))).toEqual(
        new Set(["200", "201", "202", "203", "204"])
      )
      expect(
        new Set(samples(body, "pondpilot_queries_total").map((s) => s.labels.query_type)).size
      ).toBeLessThanOrEqual(65)
      expect(samples(body, "pondpilot_auth_failures_total")).toEqual([
        { labels: { reason: "other" }, value: 2_000 }
      ])
      expect(samples(body, "pondpilot_errors_total").length).toBeLessThanOrEqual(65)
    }).pipe(Effect.provide(Metrics.Default))
  )
})
