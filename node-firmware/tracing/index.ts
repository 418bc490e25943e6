export { contextOf, traceProperties, traceparentOf, traceparentOfPacket } from "./propagation.js";
export { type TracingConfig, startTracing } from "./tracing.js";
