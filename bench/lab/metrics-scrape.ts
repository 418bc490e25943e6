/**
 * CPU of one /metrics scrape's process metrics: the agent's own set (node-firmware/metrics/
 * process-metrics.ts) as a ratio to prom-client's collectDefaultMetrics, both in this process,
 * with as many sockets open as a gateway holds for its nodes, scraped in turn.
 *   BENCH_SOCKETS=1000 BENCH_SCRAPES=300 npm run research:metrics-scrape
 * The first BENCH_COLD scrapes (run before V8 has optimised the scrape, as at a gateway scraped
 * every few seconds) are reported apart from the rest.
 */
import { createServer, connect, type Socket } from "node:net";
import { Registry, collectDefaultMetrics } from "prom-client";
import { EVENT_LOOP_RESOLUTION_MS, processMetrics } from "../../node-firmware/metrics/index.js";

const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 1000);
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 300);
const COLD = Number(process.env.BENCH_COLD ?? 20);

async function openSockets(count: number): Promise<{ close(): void }> {
  const accepted: Socket[] = [];
  const server = createServer((socket) => accepted.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const clients = await Promise.all(
    Array.from(
      { length: count / 2 },
      () =>
        new Promise<Socket>((resolve) => {
          const socket = connect(port, "127.0.0.1", () => {
            resolve(socket);
          });
        }),
    ),
  );
  return {
    close: () => {
      for (const socket of [...clients, ...accepted]) socket.destroy();
      server.close();
    },
  };
}

async function scrapeCpuUs(registry: Registry): Promise<number> {
  const before = process.cpuUsage();
  await registry.metrics();
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

const sockets = await openSockets(SOCKETS);
const defaults = new Registry();
collectDefaultMetrics({ register: defaults, eventLoopMonitoringPrecision: EVENT_LOOP_RESOLUTION_MS });
const own = new Registry();
processMetrics(own);
const cpu = { defaults: [] as number[], own: [] as number[] };
for (let i = 0; i < SCRAPES; i++) {
  cpu.defaults.push(await scrapeCpuUs(defaults));
  cpu.own.push(await scrapeCpuUs(own));
}
sockets.close();

const bytes = { defaults: (await defaults.metrics()).length, own: (await own.metrics()).length };
console.log(`${String(SOCKETS)} sockets open, ${String(SCRAPES)} scrapes each, in turn`);
for (const [label, pick] of [
  [`first ${String(COLD)} (cold), mean`, (v: number[]) => mean(v.slice(0, COLD))],
  ["after those, median", (v: number[]) => median(v.slice(COLD))],
] as const) {
  const [d, o] = [pick(cpu.defaults), pick(cpu.own)];
  console.log(
    `${label.padEnd(26)} prom-client defaults ${d.toFixed(0).padStart(6)} µs, agent's set ${o.toFixed(0).padStart(5)} µs: ${((o / d) * 100).toFixed(1)} %`,
  );
}
console.log(`body: prom-client defaults ${String(bytes.defaults)} B, agent's set ${String(bytes.own)} B`);
process.exit(0);
