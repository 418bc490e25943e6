/**
 * Where one gateway's code turns polymorphic and another's does not: the property access sites
 * whose inline caches went polymorphic or megamorphic in the second V8 log and stayed below that,
 * or never ran, in the first. bench:ingest writes the logs with BENCH_GATEWAY_IC_LOG=<dir> (one per
 * gateway; logging slows a gateway, so take no CPU figures from that run).
 *   BENCH_GATEWAY_IC_LOG=/tmp/ic BENCH_EDGE=answer BENCH_GATEWAY_CPU=1 BENCH_RATES=7 BENCH_WARMUP_S=120
 * BENCH_OBSERVE=off,traced BENCH_OTLP_ENDPOINT=<sink> npm run bench:ingest
 *   npm run research:ic-diff -- /tmp/ic/gw-off.log /tmp/ic/gw-traced.log
 * A site in optimised code carries the position TurboFan kept, which can be an inlined callee's
 * while the script named is the caller's; the function named is the code that holds it.
 */
import { packageRoot } from "../../node-firmware/lib/index.js";
import { newlyPolymorphic, readIcSites } from "./ic-log.js";

const [beforeFile, afterFile] = process.argv.slice(2);
if (!beforeFile || !afterFile) throw new Error("usage: ic-diff <before.log> <after.log>");
const root = `${packageRoot()}/`;
const [before, after] = await Promise.all([readIcSites(beforeFile, root), readIcSites(afterFile, root)]);
const found = newlyPolymorphic(before, after);
console.log(
  `[ic-diff] ${String(found.length)} sites past monomorphic in ${afterFile} and not in ${beforeFile} (states: 1 monomorphic, P polymorphic, N megamorphic; maps seen in brackets)`,
);
for (const { site, was } of found) {
  const from = was ? `${was.states}(${String(was.maps)})` : "-";
  console.log(
    `  ${from.padStart(8)} → ${`${site.states}(${String(site.maps)})`.padEnd(8)} ${site.where} ${site.type} ${site.key}  [${site.inFunction}]`,
  );
}
