import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";

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

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" });

/**
 * A veth pair on the host, both ends up and IPv6 off (so the kernel's own router solicitations do
 * not cross it while a test counts packets); `remove` deletes both.
 */
export function vethPair(name: string): { a: string; b: string; remove(): void } {
  const a = `${name}a`;
  const b = `${name}b`;
  ip("link", "add", a, "type", "veth", "peer", "name", b);
  for (const end of [a, b]) writeFileSync(`/proc/sys/net/ipv6/conf/${end}/disable_ipv6`, "1");
  ip("link", "set", a, "up");
  ip("link", "set", b, "up");
  return { a, b, remove: () => { try { ip("link", "del", a); } catch { /* already gone */ } } };
}
