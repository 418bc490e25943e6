import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type RunningAgent } from "../../node-firmware/agent/run.js";
import { validateConfig } from "../../node-firmware/config/load.js";
import { silentLogger } from "../../node-firmware/lib/log.js";
import type { EmbeddedBroker } from "../../node-firmware/mqtt/broker.js";
import { packageRoot } from "../../node-firmware/lib/package-root.js";
import { startControlPlane, type ControlPlane } from "../helpers/control-plane.js";
import { startBroker } from "../helpers/mqtt.js";

const DASHBOARDS = join(packageRoot(), "dashboards");
/** Our metric namespaces: x0_* and the process/runtime metrics prom-client exports. */
const METRIC = /\b(?:x0|process|nodejs)_[a-z0-9_]+\b/g;
const HISTOGRAM_SERIES = /_(bucket|count|sum)$/;

interface Panel {
  title: string;
  targets?: { expr: string }[];
}

let broker: EmbeddedBroker;
let agent: RunningAgent;
let controlPlane: ControlPlane;
const exported = new Set<string>();

beforeAll(async () => {
  broker = await startBroker();
  // Tracing on, sampling nothing: the span export counters exist without a collector.
  agent = await startAgent(
    validateConfig("test", { nodeId: "node-1", role: "node", broker: { url: `mqtt://127.0.0.1:${String(broker.port)}` }, mesh: { backend: "simulated", peers: ["node-1", "node-2"] }, metrics: { port: 0 }, tracing: { endpoint: "http://127.0.0.1:9/v1/traces", sampleRatio: 0 } }),
    silentLogger,
  );
  controlPlane = await startControlPlane();
  const outputs = [
    await (await fetch(`http://127.0.0.1:${String(agent.metricsPort)}/metrics`)).text(),
    await (await fetch(`${controlPlane.url}/metrics`, { headers: { authorization: `Bearer ${await controlPlane.adminJwt()}` } })).text(),
  ];
  for (const text of outputs) for (const [, name] of text.matchAll(/^# TYPE (\S+) /gm)) exported.add(name as string);
}, 30_000);

afterAll(async () => {
  await agent.stop();
  await broker.close();
  await controlPlane.dispose();
});

describe("Grafana dashboards", () => {
  it("query only metrics that an agent's or the control plane's /metrics exports", async () => {
    const files = (await readdir(DASHBOARDS)).filter((f) => f.endsWith(".json"));
    expect(files.length).toBeGreaterThanOrEqual(4);
    const missing: string[] = [];
    let queried = 0;
    for (const file of files) {
      const dashboard = JSON.parse(await readFile(join(DASHBOARDS, file), "utf8")) as { uid: string; panels: Panel[] };
      expect(dashboard.uid, file).toMatch(/^x0-/);
      for (const panel of dashboard.panels) {
        expect(panel.targets?.length, `${file}: ${panel.title}`).toBeGreaterThan(0);
        for (const { expr } of panel.targets ?? []) {
          for (const [series] of expr.matchAll(METRIC)) {
            queried++;
            const family = exported.has(series) ? series : series.replace(HISTOGRAM_SERIES, "");
            if (!exported.has(family)) missing.push(`${file} · ${panel.title}: ${series}`);
          }
        }
      }
    }
    expect(queried).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });
});
