export { commandLine, cpuSeconds, descendantsOf, freePort, freePortRange, isAlive, rssBytes } from "./proc.js";
export { AGENT_NODE_FLAGS, type Supervised, stopAll, supervise } from "./processes.js";
export { createJoinToken, ensureCa, ensureLocalAdmin } from "./provision.js";
export { workerTracingVars } from "./stack.js";
export { embedderBinding, startLocalWorker } from "./worker.js";
export { readWranglerToml } from "./wrangler-config.js";
export { startReaper, type Reaper } from "./reap.js";
