/** Size limits shared by every producer and consumer of a message. */
export const limits = {
  /** Largest MQTT payload a node may publish (telemetry, status). */
  mqttPayloadBytes: 64 * 1024,
  /** Largest HTTP request body the control plane accepts. */
  httpBodyBytes: 1024 * 1024,
  /** Most items in one telemetry batch from a gateway. */
  batchItems: 500,
  /** Most neighbors one node may report. */
  neighbors: 64,
  /** Most traffic sources one sample reports (the busiest ones). */
  sources: 16,
} as const;
