import { NodeRuntime } from "@effect/platform-node"
import { program } from "./layers/MainLive.js"

NodeRuntime.runMain(program, { disableErrorReporting: true, disablePrettyLogger: true })
