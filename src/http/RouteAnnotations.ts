import { Context } from "effect"

/**
 * Route facts the HttpApi definition cannot say by itself, set with `.annotate` on an endpoint or a
 * group and read by the route table (src/http/Routes.ts). That a route needs credentials is said by
 * its group's `.middleware(Authentication)`; its summary by `OpenApi.Summary`.
 */

/** A probe for orchestrators: open, never rate limited, answered while draining. */
export class Probe extends Context.Tag("pondpilot/route/Probe")<Probe, true>() {}

/** Needs credentials only with `metrics.require_auth: true` (the scrape endpoint). */
export class CredentialsWhenMetricsRequireAuth extends Context.Tag(
  "pondpilot/route/CredentialsWhenMetricsRequireAuth"
)<CredentialsWhenMetricsRequireAuth, true>() {}
