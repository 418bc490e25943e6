export { EVENT_LOOP_RESOLUTION_MS, processMetrics } from "./process-metrics.js";
