import { describe, expect, it } from "vitest";
import { validateConfig } from "../../../node-firmware/config/load.js";
import { openDataPlane } from "../../../node-firmware/dataplane/open.js";
import { SourceRates, readDataPlane } from "../../../node-firmware/dataplane/source-rates.js";
import { silentLogger } from "../../../node-firmware/lib/log.js";

const config = (dataplane: unknown) =>
  validateConfig("test", {
    nodeId: "node-1",
    role: "node",
    mesh: { backend: "simulated", peers: ["node-1"] },
    dataplane,
  });

describe("openDataPlane", () => {
  it("falls back to interface counters when XDP cannot load, says why in telemetry, and refuses to filter", async () => {
    const dataplane = await openDataPlane(
      config({ backend: "xdp", interfaces: ["lo"], object: "/nonexistent/xdp_guard.bpf.o" }),
      [],
      silentLogger,
    );
    expect(dataplane.kind).toBe("sysfs");
    const { reading, snapshot } = await readDataPlane(dataplane, new SourceRates(), Date.now());
    expect(reading).toMatchObject({ kind: "sysfs", sources: [], blocklistSize: 0 });
    expect(reading.packets).toBeUndefined(); // interface counters cannot tell protocols apart
    expect(reading.fallbackReason).toMatch(/nonexistent\/xdp_guard\.bpf\.o is missing|not running as root|bpftool/);
    expect(snapshot.interfaceCounters?.rxPackets).toBeGreaterThanOrEqual(0); // /sys/class/net/lo/statistics
    await expect(dataplane.isolate("10.0.0.1", 10, Date.now())).rejects.toThrow(/no packet filter on this node/);
    await expect(dataplane.rateLimit("10.0.0.1", 5, 10, Date.now())).rejects.toThrow(/no packet filter on this node/);
  });

  it("reads interface counters only when the config chooses sysfs, and says so in telemetry", async () => {
    const dataplane = await openDataPlane(config({ backend: "sysfs", interfaces: ["lo"] }), [], silentLogger);
    const { reading } = await readDataPlane(dataplane, new SourceRates(), Date.now());
    expect(reading).toMatchObject({
      kind: "sysfs",
      fallbackReason: "chosen in the config (dataplane.backend = sysfs)",
    });
    expect(() => config({ backend: "sysfs", interfaces: [] })).toThrow(/dataplane\.interfaces/);
  });

  it("refuses a config without interfaces for XDP, naming the field", () => {
    expect(() => config({ backend: "xdp", interfaces: [] })).toThrow(/dataplane\.interfaces/);
  });
});
