import { afterEach, describe, expect, it } from "vitest";
import { startAgent, type RunningAgent } from "../../../node-firmware/agent/run.js";
import { validateConfig } from "../../../node-firmware/config/load.js";
import { silentLogger } from "../../../node-firmware/lib/log.js";
import type { EmbeddedBroker } from "../../../node-firmware/mqtt/broker.js";
import { startBroker, waitFor } from "../../helpers/mqtt.js";
import { hasPromtool, promtoolCheck } from "../../helpers/promtool.js";

let broker: EmbeddedBroker | undefined;
let agent: RunningAgent | undefined;
afterEach(async () => {
  await agent?.stop();
  await broker?.close();
});

describe("node agent /metrics", () => {
  it("exposes mesh health, the control loop, buffers, rejects and the process, in the Prometheus format", async () => {
    broker = await startBroker();
    agent = await startAgent(
      validateConfig("test", {
        nodeId: "node-1",
        role: "node",
        broker: { url: `mqtt://127.0.0.1:${String(broker.port)}`, keepaliveS: 1, reconnectMs: 100 },
        telemetry: { intervalMs: 100 },
        mesh: { backend: "simulated", peers: ["gw-1", "node-1", "node-2", "node-3"] },
        metrics: { port: 0 },
        tracing: { endpoint: "http://127.0.0.1:9/v1/traces", sampleRatio: 0 },
      }),
      silentLogger,
    );
    const running = agent;
    await waitFor(() => running.node.stats.published >= 3, 5000, "samples published");
    await running.executor.handle(Buffer.from("{{{")); // as if it came on the node's actions topic
    const res = await fetch(`http://127.0.0.1:${String(running.metricsPort)}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const line of [
      /^x0_neighbors\{node="node-1",role="node"\} \d+$/m,
      /^x0_neighbor_tq\{neighbor="[\w-]+",node="node-1",role="node"\} \d+$/m,
      /^x0_link_latency_seconds\{neighbor="[\w-]+",node="node-1",role="node"\} 0\.\d+/m,
      /^x0_telemetry_publish_duration_seconds_count\{node="node-1",role="node"\} [1-9]\d*$/m,
      /^x0_telemetry_published_total\{node="node-1",role="node"\} [1-9]\d*$/m,
      /^x0_actions_total\{outcome="rejected",node="node-1",role="node"\} 1$/m,
      /^x0_actions_refused_total\{reason="not_json",node="node-1",role="node"\} 1$/m,
      /^x0_reflexes_failed_total\{kind="isolate_source",node="node-1",role="node"\} 0$/m,
      /^x0_monitor_sample_failures_total\{node="node-1",role="node"\} 0$/m,
      /^x0_telemetry_skipped_offline_total\{node="node-1",role="node"\} 0$/m,
      /^x0_dataplane_dropped_packets_total\{reason="blocked",node="node-1",role="node"\} 0$/m,
      /^x0_dataplane_packets_total\{protocol="ipv4",node="node-1",role="node"\} [1-9]\d*$/m,
      /^x0_dataplane_packets_total\{protocol="batadv",node="node-1",role="node"\} 0$/m,
      /^x0_mesh_interface_packets_total\{direction="receive",node="node-1",role="node"\} [1-9]\d*$/m,
      /^x0_mesh_interface_bytes_total\{direction="transmit",node="node-1",role="node"\} [1-9]\d*$/m,
      /^x0_mesh_interface_dropped_packets_total\{direction="receive",node="node-1",role="node"\} \d+$/m,
      /^x0_trace_spans_exported_total\{node="node-1",role="node"\} 0$/m,
      /^x0_trace_spans_dropped_total\{reason="queue_full",node="node-1",role="node"\} 0$/m,
      /^x0_trace_spans_dropped_total\{reason="export_failed",node="node-1",role="node"\} 0$/m,
      /^process_resident_memory_bytes\{node="node-1",role="node"\} \d+$/m,
      /^nodejs_heap_size_used_bytes\{node="node-1",role="node"\} \d+$/m,
      /^nodejs_eventloop_lag_p99_seconds\{node="node-1",role="node"\} \d/m,
      /^nodejs_version_info\{version="v\d+\.\d+\.\d+",major="\d+",minor="\d+",patch="\d+",node="node-1",role="node"\} 1$/m,
    ])
      expect(text).toMatch(line);
    const cpuSeconds = /^process_cpu_seconds_total\{node="node-1",role="node"\} (\S+)$/m.exec(text)?.[1];
    expect(Number(cpuSeconds)).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${String(running.metricsPort)}/other`)).status).toBe(404);
    if (hasPromtool) expect(promtoolCheck(text)).toEqual({ status: 0, said: "" });
  });
});
