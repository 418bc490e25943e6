import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import { getHeapStatistics } from "node:v8";
import { Gauge, type Registry } from "prom-client";
import { MirroredCounter, gauge } from "./families.js";

const NS_PER_S = 1e9;
const startedAt = Date.now() / 1000 - process.uptime();

/**
 * How often the event-loop delay monitor behind `nodejs_eventloop_lag_*` wakes the loop.
 * prom-client's 10 ms cost a gateway relaying 250 msg/s about 5 % more CPU per message
 * (bench:ingest, gateways side by side); at 100 ms the cost was lost in the noise. A stall
 * longer than that always shows; a shorter one shows when it holds up a wake-up.
 */
export const EVENT_LOOP_RESOLUTION_MS = 100;

/**
 * The process's metrics under prom-client's default names, but only those an operator of a node
 * reads: CPU, RSS, heap, event-loop delay, start time, version. prom-client's full set also walks
 * every open fd, handle and resource at each scrape (a gateway holds one per node), reads
 * /proc/self/status, lists 9 heap spaces, and keeps a GC histogram fed by a PerformanceObserver.
 * With 1000 sockets open this set's scrape costs 38 % of that one's CPU once optimised (525 against
 * 1390 µs), 55 % in the first 20 scrapes (`npm run research:metrics-scrape`).
 */
export function processMetrics(registry: Registry, eventLoopResolutionMs = EVENT_LOOP_RESOLUTION_MS): void {
  const registers = [registry];
  const delay = monitorEventLoopDelay({ resolution: eventLoopResolutionMs });
  delay.enable();
  // Registered before the gauges it sets: the registry collects in registration order.
  new Gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
    registers,
    collect() {
      this.set(process.memoryUsage.rss());
      const { user, system } = process.cpuUsage();
      cpuUser.set(user / 1e6);
      cpuSystem.set(system / 1e6);
      cpuTotal.set((user + system) / 1e6);
      const heap = getHeapStatistics();
      heapTotal.set(heap.total_heap_size);
      heapUsed.set(heap.used_heap_size);
      external.set(heap.external_memory);
      eventLoopDelay(delay, lag);
    },
  });
  const cpuUser = new MirroredCounter(
    registry,
    "process_cpu_user_seconds_total",
    "Total user CPU time spent in seconds.",
  );
  const cpuSystem = new MirroredCounter(
    registry,
    "process_cpu_system_seconds_total",
    "Total system CPU time spent in seconds.",
  );
  const cpuTotal = new MirroredCounter(
    registry,
    "process_cpu_seconds_total",
    "Total user and system CPU time spent in seconds.",
  );
  const heapTotal = gauge(registry, "nodejs_heap_size_total_bytes", "Process heap size from Node.js in bytes.");
  const heapUsed = gauge(registry, "nodejs_heap_size_used_bytes", "Process heap size used from Node.js in bytes.");
  const external = gauge(registry, "nodejs_external_memory_bytes", "Node.js external memory size in bytes.");
  const lag = {
    now: gauge(
      registry,
      "nodejs_eventloop_lag_seconds",
      "Lag of event loop in seconds, measured by a setImmediate at the previous scrape.",
    ),
    min: gauge(registry, "nodejs_eventloop_lag_min_seconds", "The minimum recorded event loop delay."),
    max: gauge(registry, "nodejs_eventloop_lag_max_seconds", "The maximum recorded event loop delay."),
    mean: gauge(registry, "nodejs_eventloop_lag_mean_seconds", "The mean of the recorded event loop delays."),
    stddev: gauge(
      registry,
      "nodejs_eventloop_lag_stddev_seconds",
      "The standard deviation of the recorded event loop delays.",
    ),
    p50: gauge(registry, "nodejs_eventloop_lag_p50_seconds", "The 50th percentile of the recorded event loop delays."),
    p90: gauge(registry, "nodejs_eventloop_lag_p90_seconds", "The 90th percentile of the recorded event loop delays."),
    p99: gauge(registry, "nodejs_eventloop_lag_p99_seconds", "The 99th percentile of the recorded event loop delays."),
  };
  gauge(registry, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.").set(
    Math.round(startedAt),
  );
  const [major = "", minor = "", patch = ""] = process.versions.node.split(".");
  new Gauge({
    name: "nodejs_version_info",
    help: "Node.js version info.",
    labelNames: ["version", "major", "minor", "patch"],
    registers,
  }).set({ version: process.version, major, minor, patch }, 1);
}

type Lag = Record<"now" | "min" | "max" | "mean" | "stddev" | "p50" | "p90" | "p99", Gauge>;

/** The delays the monitor saw since the previous scrape, then a fresh start for the next. */
function eventLoopDelay(delay: IntervalHistogram, lag: Lag): void {
  const scheduled = process.hrtime.bigint();
  setImmediate(() => {
    lag.now.set(Number(process.hrtime.bigint() - scheduled) / NS_PER_S);
  });
  lag.min.set(delay.min / NS_PER_S);
  lag.max.set(delay.max / NS_PER_S);
  lag.mean.set(delay.mean / NS_PER_S);
  lag.stddev.set(delay.stddev / NS_PER_S);
  lag.p50.set(delay.percentile(50) / NS_PER_S);
  lag.p90.set(delay.percentile(90) / NS_PER_S);
  lag.p99.set(delay.percentile(99) / NS_PER_S);
  delay.reset();
}
