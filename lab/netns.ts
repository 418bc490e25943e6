import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";

/** Network namespaces and veth pairs through `ip`, for the lab, the kernel tests and bench:dataplane. */
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
  return {
    a,
    b,
    remove: () => {
      try {
        ip("link", "del", a);
      } catch {
        /* already gone */
      }
    },
  };
}

/** A network namespace holding the far end of a veth pair whose near end stays on the host, both addressed. */
export function peerNamespace(
  name: string,
  subnet: string,
): { ns: string; hostIf: string; hostIp: string; peerIp: string; exec(...args: string[]): string; remove(): void } {
  const ns = `${name}ns`;
  const pair = vethPair(name);
  const hostIp = `${subnet}.1`;
  const peerIp = `${subnet}.2`;
  ip("netns", "add", ns);
  ip("link", "set", pair.b, "netns", ns);
  ip("addr", "add", `${hostIp}/24`, "dev", pair.a);
  const exec = (...args: string[]) =>
    execFileSync("ip", ["netns", "exec", ns, ...args], { encoding: "utf8", stdio: "pipe" });
  exec("ip", "addr", "add", `${peerIp}/24`, "dev", pair.b);
  exec("ip", "link", "set", pair.b, "up");
  exec("ip", "link", "set", "lo", "up");
  return {
    ns,
    hostIf: pair.a,
    hostIp,
    peerIp,
    exec,
    remove: () => {
      pair.remove();
      try {
        ip("netns", "del", ns);
      } catch {
        /* already gone */
      }
    },
  };
}
