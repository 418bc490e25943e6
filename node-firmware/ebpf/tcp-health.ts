import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { errorText, type Logger } from "../lib/log.js";
import { packageRoot } from "../lib/package-root.js";
import { bpftool, dumpMap, loadPinned } from "./bpftool.js";
import { BPFFS, bpfObjectUnavailableReason, ensureBpffs } from "./kernel.js";
import { TH_MAPS, decodeDestinationHealth, type DestinationHealth } from "./tcp-health-layout.js";

export interface TcpHealthOptions {
  /** A cgroup v2 directory: TCP connections of its processes are measured. */
  cgroup: string;
  /** The built bpf/tcp_health.bpf.o. */
  objectPath: string;
  /** Pins go under `<pinRoot>/`. */
  pinRoot?: string;
}

/**
 * tcp_health on one cgroup, through bpftool: retransmits and smoothed-RTT histograms per
 * destination. A sockops program rather than the tcp:tcp_retransmit_skb tracepoint: bpftool (no
 * native addon) attaches sockops to a cgroup, while tracepoints need bpftool ≥ 7.2's autoattach
 * and Debian 12 ships 7.1.
 */
export class TcpHealth {
  private constructor(
    private readonly cgroup: string,
    private readonly pinDir: string,
  ) {}

  static async attach(options: TcpHealthOptions, log: Logger): Promise<TcpHealth> {
    await ensureBpffs();
    const pinDir = options.pinRoot ?? join(BPFFS, "x0tta6bl4", "tcp_health");
    await rm(pinDir, { recursive: true, force: true });
    await mkdir(pinDir, { recursive: true });
    try {
      await loadPinned(options.objectPath, "sockops", pinDir);
      await bpftool(["cgroup", "attach", options.cgroup, "sock_ops", "pinned", join(pinDir, "prog")]);
    } catch (error) {
      await rm(pinDir, { recursive: true, force: true });
      throw error;
    }
    log.info("tcp_health attached", { cgroup: options.cgroup });
    return new TcpHealth(options.cgroup, pinDir);
  }

  async read(): Promise<DestinationHealth[]> {
    return (await dumpMap(join(this.pinDir, "maps", TH_MAPS.destinations))).map((e) =>
      decodeDestinationHealth(e.key, e.value),
    );
  }

  async close(): Promise<void> {
    await bpftool(["cgroup", "detach", this.cgroup, "sock_ops", "pinned", join(this.pinDir, "prog")]).catch(
      () => undefined,
    ); // the cgroup may be gone
    await rm(this.pinDir, { recursive: true, force: true });
  }
}

/**
 * tcp_health as configured, or undefined: a kernel that refuses it (no BPF, no cgroup v2, not
 * root) costs the node its TCP figures, said once in the log, not its start.
 */
export async function openTcpHealth(
  section: { cgroup: string; object?: string | undefined; pinRoot?: string | undefined },
  log: Logger,
): Promise<TcpHealth | undefined> {
  const objectPath = section.object ?? join(packageRoot(), "bpf", "tcp_health.bpf.o");
  let reason = await bpfObjectUnavailableReason(objectPath);
  if (!reason) {
    try {
      const pins = section.pinRoot === undefined ? {} : { pinRoot: section.pinRoot };
      return await TcpHealth.attach({ cgroup: section.cgroup, objectPath, ...pins }, log);
    } catch (error) {
      reason = `attaching tcp_health failed: ${errorText(error)}`;
    }
  }
  log.warn("no tcp_health: telemetry carries no TCP figures", { cgroup: section.cgroup, reason });
  return undefined;
}
