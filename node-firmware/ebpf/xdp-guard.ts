import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../lib/log.js";
import type { DataPlane, DataPlaneSnapshot, SourceCounters } from "../dataplane/dataplane.js";
import { readCountersOf } from "../dataplane/sysfs.js";
import { bpftoolBatch, deleteCommand, dumpMap, dumpPerCpuMap, loadPinned, updateCommand } from "./bpftool.js";
import { BPFFS, attachXdp, attachedXdp, detachXdp, ensureBpffs, type XdpMode } from "./kernel.js";
import {
  XG_COUNTERS,
  XG_MAPS,
  decodeBlock,
  decodeCounter,
  decodeLimit,
  decodeSource,
  decodeSourceStats,
  encodeBlock,
  encodeLimit,
  encodeSource,
  type XgCounter,
} from "./xdp-guard-layout.js";

export const PROGRAM_NAME = "xdp_guard";
export const DEFAULT_PIN_ROOT = join(BPFFS, "x0tta6bl4");

export interface XdpGuardOptions {
  /** Every interface gets the same program and shares its maps: one view of a source across links. */
  interfaces: readonly string[];
  /** The built bpf/xdp_guard.bpf.o. */
  objectPath: string;
  /** Pins go under `<pinRoot>/<first interface>/`. */
  pinRoot?: string;
  /** Native (driver) where supported, else generic, unless one is required. */
  mode?: XdpMode;
}

export interface BlockEntry {
  source: string;
  ttlSeconds: number;
}

/** bpf_ktime_get_ns() is CLOCK_MONOTONIC, and so is Node's hrtime. */
const monotonicNs = () => process.hrtime.bigint();
const seconds = (s: number) => BigInt(Math.round(s * 1e9));
const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/**
 * xdp_guard on a node's mesh interfaces, driven through bpftool: loads and pins the program and
 * its maps once, attaches it to each interface (native where the driver can, else generic; the
 * first interface's mode is reported), reads its counters and writes its
 * blocklist and rate limits. `close` detaches and unpins; a crashed run's leftovers are removed
 * by the next `attach`.
 */
export class XdpGuard implements DataPlane {
  readonly kind = "xdp";

  private constructor(
    readonly interfaces: readonly string[],
    readonly xdpMode: XdpMode,
    private readonly modes: readonly XdpMode[],
    private readonly pinDir: string,
  ) {}

  static async attach(options: XdpGuardOptions, log: Logger): Promise<XdpGuard> {
    const [first] = options.interfaces;
    if (first === undefined) throw new Error("xdp_guard needs at least one interface");
    await ensureBpffs();
    const pinDir = join(options.pinRoot ?? DEFAULT_PIN_ROOT, first);
    for (const iface of options.interfaces) await removeLeftover(iface, log);
    await rm(pinDir, { recursive: true, force: true });
    const modes: XdpMode[] = [];
    try {
      await mkdir(pinDir, { recursive: true });
      await loadPinned(options.objectPath, "xdp", pinDir);
      for (const iface of options.interfaces) modes.push(await attachXdp(iface, join(pinDir, "prog"), options.mode));
    } catch (error) {
      await Promise.all(
        modes.map((mode, i) => detachXdp(options.interfaces[i] as string, mode).catch(() => undefined)),
      );
      await rm(pinDir, { recursive: true, force: true });
      throw error;
    }
    log.info("xdp_guard attached", { interfaces: options.interfaces, modes });
    return new XdpGuard(options.interfaces, modes[0] as XdpMode, modes, pinDir);
  }

  private map(name: string): string {
    return join(this.pinDir, "maps", name);
  }

  async snapshot(): Promise<DataPlaneSnapshot> {
    const [sources, blocked, limited, counters, interfaceCounters] = await Promise.all([
      this.sourceCounters(),
      this.activeEntries(XG_MAPS.blocklist, (v) => decodeBlock(v).expiresNs),
      this.activeEntries(XG_MAPS.limits, (v) => decodeLimit(v).expiresNs),
      this.counters(),
      readCountersOf(this.interfaces),
    ]);
    return {
      sources,
      blocked: new Set(blocked),
      rateLimitedSources: limited.length,
      dropped: { blocked: counters.droppedBlocked, rateLimited: counters.droppedRate },
      packets: {
        ipv4: counters.ipv4,
        ipv6: counters.ipv6,
        batadv: counters.batadv,
        other: counters.other,
        truncated: counters.truncated,
      },
      interfaceCounters,
    };
  }

  async isolate(source: string, ttlSeconds: number): Promise<void> {
    await this.block([{ source, ttlSeconds }]);
  }

  /** Many blocklist entries in one bpftool process. */
  async block(entries: readonly BlockEntry[]): Promise<void> {
    const now = monotonicNs();
    await bpftoolBatch(
      entries.map((e) =>
        updateCommand(this.map(XG_MAPS.blocklist), encodeSource(e.source), encodeBlock(now + seconds(e.ttlSeconds))),
      ),
    );
  }

  /** A token bucket of `packetsPerSecond`, one second deep. */
  async rateLimit(source: string, packetsPerSecond: number, ttlSeconds: number): Promise<void> {
    const value = encodeLimit({
      packetsPerSecond,
      burst: packetsPerSecond,
      expiresNs: monotonicNs() + seconds(ttlSeconds),
    });
    await bpftoolBatch([updateCommand(this.map(XG_MAPS.limits), encodeSource(source), value)]);
  }

  async counters(): Promise<Record<XgCounter, number>> {
    const entries = await dumpPerCpuMap(this.map(XG_MAPS.counters));
    const totals = Object.fromEntries(XG_COUNTERS.map((name) => [name, 0])) as Record<XgCounter, number>;
    for (const e of entries) {
      const name = XG_COUNTERS[new DataView(e.key.buffer).getUint32(0, true)];
      if (name) totals[name] = sum(e.values.map(decodeCounter));
    }
    return totals;
  }

  private async sourceCounters(): Promise<SourceCounters[]> {
    const entries = await dumpPerCpuMap(this.map(XG_MAPS.sources));
    return entries.map((e) => {
      const perCpu = e.values.map(decodeSourceStats);
      return {
        source: decodeSource(e.key),
        packets: sum(perCpu.map((s) => s.packets)),
        bytes: sum(perCpu.map((s) => s.bytes)),
        dropped: sum(perCpu.map((s) => s.droppedBlocked + s.droppedRate)),
      };
    });
  }

  /**
   * Sources with an unexpired entry; expired ones are deleted here (the program deletes them only
   * when a packet comes).
   */
  private async activeEntries(map: string, expiresNs: (value: Uint8Array) => bigint): Promise<string[]> {
    const now = monotonicNs();
    const entries = await dumpMap(this.map(map));
    const expired = entries.filter((e) => expiresNs(e.value) <= now);
    if (expired.length > 0)
      // raced by the program: already gone
      await bpftoolBatch(expired.map((e) => deleteCommand(this.map(map), e.key))).catch(() => undefined);
    return entries.filter((e) => expiresNs(e.value) > now).map((e) => decodeSource(e.key));
  }

  async close(): Promise<void> {
    // An interface may be gone with its namespace.
    await Promise.all(
      this.interfaces.map((iface, i) => detachXdp(iface, this.modes[i] as XdpMode).catch(() => undefined)),
    );
    await rm(this.pinDir, { recursive: true, force: true });
  }
}

/** A previous run that crashed left its program attached (and its pins, removed by the caller). */
async function removeLeftover(iface: string, log: Logger): Promise<void> {
  const attached = await attachedXdp(iface);
  if (attached?.name !== PROGRAM_NAME) return;
  await detachXdp(iface, attached.mode);
  log.warn("removed a leftover xdp_guard from a previous run", { interface: iface, mode: attached.mode });
}
