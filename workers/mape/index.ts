export { type Anomaly, type Baseline, type Metric, baselineKey, floods, observe } from "./analyze.js";
export { DEFAULT_GUARD_RAILS, plan } from "./plan.js";
