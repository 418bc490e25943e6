import { join } from "node:path";
import type { AgentConfig } from "../config/schema.js";
import { bpfObjectUnavailableReason } from "../ebpf/kernel.js";
import { XdpGuard } from "../ebpf/xdp-guard.js";
import { errorText, type Logger } from "../lib/log.js";
import { packageRoot } from "../lib/package-root.js";
import type { DataPlane } from "./dataplane.js";
import { SimulatedDataPlane } from "./simulated.js";
import { SysfsDataPlane } from "./sysfs.js";

/** bpf/xdp_guard.bpf.o of the checkout or package this firmware runs from (source or dist/). */
export const defaultObjectPath = () => join(packageRoot(), "bpf", "xdp_guard.bpf.o");

/** The configured data plane; XDP that cannot load falls back to interface counters, and says why. */
export async function openDataPlane(
  config: AgentConfig,
  neighbors: readonly string[],
  log: Logger,
): Promise<DataPlane> {
  const section = config.dataplane;
  if (section.backend === "simulated") return new SimulatedDataPlane(neighbors);
  if (section.backend === "sysfs")
    return new SysfsDataPlane(section.interfaces, "chosen in the config (dataplane.backend = sysfs)");
  const objectPath = section.object ?? defaultObjectPath();
  let reason = await bpfObjectUnavailableReason(objectPath);
  if (!reason) {
    try {
      return await XdpGuard.attach(
        { interfaces: section.interfaces, objectPath, ...(section.pinRoot ? { pinRoot: section.pinRoot } : {}) },
        log,
      );
    } catch (error) {
      reason = `loading xdp_guard failed: ${errorText(error)}`;
    }
  }
  log.warn("no XDP data plane: interface counters only, no per-source view or filtering", {
    interfaces: section.interfaces,
    reason,
  });
  return new SysfsDataPlane(section.interfaces, reason);
}
