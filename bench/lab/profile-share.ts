/**
 * The direct cost of observability in a gateway: what its JavaScript thread spent in tracing and
 * in metrics code, callees included, read from the CPU profiles bench:ingest writes with
 * BENCH_GATEWAY_PROFILE=<dir> (one per gateway, written as it stops).
 *   BENCH_GATEWAY_PROFILE=/tmp/prof BENCH_GATEWAY_CPU=1 BENCH_OBSERVE=off,sampled npm run bench:ingest
 *   npm run research:profile-share -- /tmp/prof/*.cpuprofile --skip-s 240
 * `--skip-s` leaves out the start (start-up and the warm-up). What the kernel does for the code
 * (its sockets) and V8's helper threads are not in a profile.
 */
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { groupShares, type CodeGroup, type CpuProfile } from "./cpu-profile.js";

const OBSERVABILITY: CodeGroup[] = [
  {
    name: "tracing",
    matches: (url) =>
      url.includes("/node_modules/@opentelemetry/") ||
      url.includes("/node-firmware/tracing/") ||
      url.includes("/protocol/trace."),
  },
  {
    name: "metrics",
    matches: (url) => url.includes("/node_modules/prom-client/") || url.includes("/node-firmware/metrics/"),
  },
  // node:http serves /metrics. The OTLP export goes through fetch (undici), as the gateway's edge
  // requests do, so its share is not told apart.
  { name: "node:http", matches: (url) => url.startsWith("node:_http_") },
];

function parseArgs(argv: readonly string[]): { files: string[]; skipS: number } {
  const at = argv.indexOf("--skip-s");
  const skipS = at === -1 ? 0 : Number(argv[at + 1]);
  if (!(skipS >= 0)) throw new Error("--skip-s takes the seconds to leave out at the start");
  const files = argv.filter((_, i) => at === -1 || (i !== at && i !== at + 1));
  if (files.length === 0) throw new Error("usage: profile-share <file.cpuprofile>… [--skip-s seconds]");
  return { files, skipS };
}

const { files, skipS } = parseArgs(process.argv.slice(2));
console.log(
  `[profile-share] ms per second of the JavaScript thread, callees included, after the first ${String(skipS)} s; in brackets, the share of its busy time`,
);
for (const file of files) {
  const shares = groupShares(JSON.parse(await readFile(file, "utf8")) as CpuProfile, OBSERVABILITY, skipS);
  const cells = Object.entries(shares.groups).map(
    ([name, ms]) => `${name} ${ms.toFixed(3)} (${((100 * ms) / shares.busyMsPerS).toFixed(2)} %)`,
  );
  const total = Object.values(shares.groups).reduce((sum, ms) => sum + ms, 0);
  console.log(
    `  ${basename(file).padEnd(28)} ${shares.seconds.toFixed(0)} s, busy ${shares.busyMsPerS.toFixed(2)}: ${cells.join("; ")}; observability ${total.toFixed(3)} (${((100 * total) / shares.busyMsPerS).toFixed(2)} %)`,
  );
}
