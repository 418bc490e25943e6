/**
 * What MQTT 5 user properties cost the gateway's embedded broker (aedes, mqtt-packet, payload
 * validation; no bridge): one broker process per share of messages carrying a traceparent user
 * property, side by side on one CPU, each fed QoS 1 telemetry at the same rate by its own clients.
 * Reports CPU per acknowledged message against the mean of the brokers given share 0.
 *   BENCH_SHARES=0,0.01,0.1,1,0 BENCH_RATE=1500 BENCH_WARMUP_S=40 BENCH_SECONDS=40 npm run research:broker-properties
 * Run it as `taskset -c 0 npm run …`: the brokers go to BENCH_BROKER_CPU (default 1).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { MqttClient } from "mqtt";
import { topics } from "../../protocol/index.js";
import { silentLogger } from "../../node-firmware/lib/index.js";
import { EmbeddedBroker } from "../../node-firmware/mqtt/index.js";
import { cpuSeconds, freePortRange } from "../../stack/index.js";
import { connectWhenUp, telemetryJson } from "../mqtt-load.js";
import { messageTraceProperties, onCpus } from "../observe.js";

const BROKER_FLAG = "--broker-port";
const NEIGHBORS = [1, 2, 3].map((d) => ({ neighbor: `peer-${String(d)}`, tq: 200 + d, latencyMs: 3, loss: 0.01 }));

interface Feed {
  share: number;
  process: ChildProcess;
  clients: { client: MqttClient; nodeId: string }[];
  acked: number;
}

async function serveBroker(port: number): Promise<void> {
  await EmbeddedBroker.start({ host: "127.0.0.1", port }, silentLogger);
}

async function startFeed(share: number, port: number, cpu: string, clientsPerBroker: number): Promise<Feed> {
  const [command = "", ...args] = onCpus(cpu, [
    process.execPath,
    "--max-semi-space-size=16",
    fileURLToPath(import.meta.url),
    BROKER_FLAG,
    String(port),
  ]);
  const child = spawn(command, args, { stdio: "inherit" });
  const clients = await Promise.all(
    Array.from({ length: clientsPerBroker }, async (_, i) => {
      const nodeId = `b${String(port)}-n${String(i)}`;
      return { client: await connectWhenUp(nodeId, port), nodeId };
    }),
  );
  return { share, process: child, clients, acked: 0 };
}

async function main(): Promise<void> {
  const shares = (process.env.BENCH_SHARES ?? "0,0.01,0.1,1,0").split(",").map(Number);
  const rate = Number(process.env.BENCH_RATE ?? 1500);
  const clientsPerBroker = Number(process.env.BENCH_CLIENTS ?? 200);
  const warmupS = Number(process.env.BENCH_WARMUP_S ?? 40);
  const seconds = Number(process.env.BENCH_SECONDS ?? 40);
  const firstPort = await freePortRange(shares.length);
  const feeds = await Promise.all(
    shares.map((share, k) => startFeed(share, firstPort + k, process.env.BENCH_BROKER_CPU ?? "1", clientsPerBroker)),
  );
  let seq = 0;
  const stop = new AbortController();
  const TICK_MS = 10;
  const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));
  const publishing = (async () => {
    for (let tick = 0, next = Date.now(); !stop.signal.aborted; tick++) {
      for (let j = 0; j < perTick; j++) {
        for (let k = 0; k < feeds.length; k++) {
          const feed = feeds[(k + tick) % feeds.length] as Feed; // no broker always first
          const { client, nodeId } = feed.clients[seq % clientsPerBroker] as Feed["clients"][number];
          client.publish(
            topics.telemetry(nodeId),
            telemetryJson(nodeId, seq, NEIGHBORS),
            { qos: 1, ...messageTraceProperties(feed.share) },
            (error) => {
              if (!error) feed.acked++;
            },
          );
        }
        seq++;
      }
      next += TICK_MS;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
    }
  })();
  const mark = () => feeds.map((f) => ({ acked: f.acked, cpu: cpuSeconds(f.process.pid as number) }));
  await new Promise((resolve) => setTimeout(resolve, warmupS * 1000));
  const start = mark();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const end = mark();
  stop.abort();
  await publishing;
  const usPerMessage = feeds.map(
    (_, k) => (((end[k]?.cpu ?? 0) - (start[k]?.cpu ?? 0)) * 1e6) / ((end[k]?.acked ?? 0) - (start[k]?.acked ?? 0)),
  );
  const untraced = usPerMessage.filter((_, k) => feeds[k]?.share === 0);
  const base = untraced.length > 0 ? untraced.reduce((a, b) => a + b, 0) / untraced.length : NaN;
  console.log(
    `${String(feeds.length)} brokers side by side, ${String(rate)} msg/s each from ${String(clientsPerBroker)} clients, ${String(seconds)} s after ${String(warmupS)} s of warm-up`,
  );
  feeds.forEach((feed, k) => {
    const us = usPerMessage[k] ?? NaN;
    console.log(
      `  share ${String(feed.share).padEnd(5)} ${us.toFixed(1).padStart(6)} µs CPU a message  ${((us / base - 1) * 100).toFixed(1).padStart(6)} % against share 0`,
    );
  });
  for (const feed of feeds) {
    for (const { client } of feed.clients) client.end(true);
    feed.process.kill();
  }
}

const brokerPort = process.argv.indexOf(BROKER_FLAG);
if (brokerPort >= 0) await serveBroker(Number(process.argv[brokerPort + 1]));
else await main();
