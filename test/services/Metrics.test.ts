import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import {
  ClientInstancesLabel,
  Metrics,
  poolInstanceLabel,
  routeTemplate,
  unmatchedRoute
} from "../../src/services/Metrics.js"
import { samples } from "../support/PromText.js"

const render = Effect.flatMap(Metrics, (metrics) => metrics.render())

const templates = [
  "/health",
  "/ready",
  "/v1/instances",
  "/v1/instances/:id",
  "/v1/instances/:id/databases",
  "/v1/instances/:id/databases/:alias",
  "/v1/instances/:id/catalog",
  "/v1/instances/:id/query",
  "/v1/queries",
  "/v1/queries/:id",
  "/api/v1/metrics",
  "/openapi.json",
  "/docs"
]

describe("routeTemplate", () => {
  it.each([
    ["GET", "/health", "/health"],
    ["POST", "/v1/instances", "/v1/instances"],
    ["GET", "/v1/instances/inst_8f2k", "/v1/instances/:id"],
    ["DELETE", "/v1/instances/inst_8f2k/", "/v1/instances/:id"],
    ["POST", "/v1/instances/default/databases", "/v1/instances/:id/databases"],
    ["DELETE", "/v1/instances/inst_1/databases/sales", "/v1/instances/:id/databases/:alias"],
    ["GET", "/v1/instances/inst_1/catalog", "/v1/instances/:id/catalog"],
    ["POST", "/v1/instances/inst_1/query?format=csv", "/v1/instances/:id/query"],
    ["OPTIONS", "/v1/instances/inst_1/query", "/v1/instances/:id/query"],
    ["DELETE", "/v1/queries/q_42", "/v1/queries/:id"],
    ["HEAD", "/api/v1/metrics", "/api/v1/metrics"],
    ["get", "/docs", "/docs"],
    ["GET", "/docs/assets/app.js", "/docs"],
    ["GET", "/openapi.json", "/openapi.json"],
    ["GET", "/v1/instances/inst_1/query", unmatchedRoute], // wrong method
    ["POST", "/v1/instances//query", unmatchedRoute], // empty id
    ["GET", "/v1/instances/a/b/c/d/e", unmatchedRoute],
    ["GET", "/etc/passwd", unmatchedRoute],
    ["GET", "/", unmatchedRoute]
  ])("%s %s → %s", (method, path, expected) => {
    expect(routeTemplate(method, path)).toBe(expected)
  })
})

describe("Metrics", () => {
  it.scoped("serves Prometheus text with every family, on its own registry", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics
      metrics.recordRequest({
        method: "POST",
        path: "/v1/instances/inst_abc/query",
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
        const id = `inst_${i.toString(36)}`
        const paths = [
          `/v1/instances/${id}`,
          `/v1/instances/${id}/query?format=json&x=${i}`,
          `/v1/instances/${id}/databases/db${i}`,
          `/v1/queries/q_${i}`,
          `/random/${i}`,
          `/${"x".repeat(i % 50)}`
        ]
        for (const path of paths) {
          metrics.recordRequest({
            method: methods[i % methods.length]!,
            path,
            status: 200 + (i % 5),
            durationMs: 1
          })
        }
        metrics.recordQuery({ queryType: `TYPE_${i}`, outcome: "success", durationMs: 1, rowsReturned: 1 })
        metrics.recordAuthFailure(`reason ${i}`)
        metrics.recordError(`code_${i}`)
      }
      const { body } = yield* render
      const requests = samples(body, "pondpilot_http_requests_total")
      const routes = new Set(requests.map((sample) => sample.labels.route))
      for (const route of routes) expect([...templates, unmatchedRoute]).toContain(route)
      expect(new Set(requests.map((sample) => sample.labels.method))).toEqual(
        new Set(["GET", "POST", "DELETE", "PUT", "OTHER", "OPTIONS"])
      )
      expect(requests.length).toBeLessThanOrEqual(templates.length * 7 * 5 + 7 * 5)
      expect(body).not.toMatch(/inst_[0-9a-z]+"/)
      expect(body).not.toContain("q_1")
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
