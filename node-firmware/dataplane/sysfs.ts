import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { InterfaceCounters } from "../../protocol/index.js";
import type { DataPlane, DataPlaneSnapshot } from "./dataplane.js";

const STATISTICS: Record<keyof InterfaceCounters, string> = {
  rxBytes: "rx_bytes",
  txBytes: "tx_bytes",
  rxPackets: "rx_packets",
  txPackets: "tx_packets",
  rxDropped: "rx_dropped",
  txDropped: "tx_dropped",
};

/** An interface's counters from /sys/class/net/<if>/statistics. */
export async function readInterfaceCounters(iface: string, root = "/sys/class/net"): Promise<InterfaceCounters> {
  const entries = await Promise.all(
    Object.entries(STATISTICS).map(
      async ([field, file]) =>
        [field, Number((await readFile(join(root, iface, "statistics", file), "utf8")).trim())] as const,
    ),
  );
  return Object.fromEntries(entries) as unknown as InterfaceCounters;
}

/** The counters of several interfaces, added up: a node's mesh links as one. */
export async function readCountersOf(interfaces: readonly string[], root?: string): Promise<InterfaceCounters> {
  const total: InterfaceCounters = { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, rxDropped: 0, txDropped: 0 };
  for (const counters of await Promise.all(interfaces.map((iface) => readInterfaceCounters(iface, root)))) {
    for (const field of Object.keys(total) as (keyof InterfaceCounters)[]) total[field] += counters[field];
  }
  return total;
}

/**
 * The fallback when eBPF cannot load: interface counters, no per-source view, no filtering.
 * Telemetry says so (`dataplane.kind = "sysfs"` with the reason); isolation and rate limits fail.
 */
export class SysfsDataPlane implements DataPlane {
  readonly kind = "sysfs";

  constructor(
    private readonly interfaces: readonly string[],
    readonly fallbackReason: string,
  ) {}

  async snapshot(): Promise<DataPlaneSnapshot> {
    return {
      sources: [],
      blocked: new Set(),
      rateLimitedSources: 0,
      dropped: { blocked: 0, rateLimited: 0 },
      interfaceCounters: await readCountersOf(this.interfaces),
    };
  }

  isolate(): Promise<void> {
    return Promise.reject(new Error(`no packet filter on this node: ${this.fallbackReason}`));
  }

  rateLimit(): Promise<void> {
    return this.isolate();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
