import { execFileSync } from "node:child_process";

/** Why the kernel tests cannot run here, or null when they can. */
export function kernelTestsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "needs root (BPF and network namespaces)";
  for (const tool of ["bpftool", "ip", "clang"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      return `${tool} is not installed (npm test's pre-test step installs it as root)`;
    }
  }
  return null;
}

export { peerNamespace, vethPair } from "../../lab/netns.js";
