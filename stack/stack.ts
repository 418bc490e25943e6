import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { adminToken, type Credential } from "../ctl/index.js";
import { readOptional } from "../node-firmware/identity/index.js";
import { packageRoot } from "../node-firmware/lib/index.js";
import { GATEWAY_ID, agentStateDir, nodeIds, stackConfigs, writeConfigs } from "./configs.js";
import { errorText } from "../protocol/index.js";
import { isAlive } from "./proc.js";
import { spawnAgent, stopAll, type Supervised } from "./processes.js";
import { startReaper } from "./reap.js";
import { RestartPolicy } from "./restart.js";
import { createJoinToken, ensureCa, ensureLocalAdmin } from "./provision.js";
import { startLocalWorker, type LocalWorker } from "./worker.js";
import { cronMatcher, untilNextMinute } from "./cron.js";
import { readWranglerToml } from "./wrangler-config.js";
import type { TracingConfig } from "../node-firmware/tracing/index.js";
import { embedderHandler, loadEmbedder } from "../embedder/index.js";

export interface StackOptions {
  nodes: number;
  port: number;
  mqttPort: number;
  seed: number;
  stateDir: string;
  print: (line: string) => void;
  /** The gateway's /metrics port; the nodes' follow it. None when absent. */
  metricsPort?: number;
  /** OpenTelemetry: agents and the control plane export their spans to this collector. Off when absent. */
  tracing?: TracingConfig;
  /** A local embedding model folder for RAG (transformers.js); absent: RAG is lexical only. */
  ragModel?: string;
}

/** The whole system on this machine: the control plane in workerd, the gateway with its broker, simulated nodes. */
export interface Stack {
  readonly apiUrl: string;
  readonly mqttUrl: string;
  readonly credentialFile: string;
  /** The running agent processes, by name. */
  readonly agents: ReadonlyMap<string, Supervised>;
  /** Takes the control plane away (an edge outage) and brings it back on the same port and state. */
  stopEdge(): Promise<void>;
  startEdge(): Promise<void>;
  /** Stops an agent (SIGTERM, or SIGKILL as a crash) and starts it again on the same config. */
  restartAgent(name: string, how?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** The local D1 database, while the control plane runs. */
  database(): ReturnType<LocalWorker["database"]>;
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 10_000;

/** Agents that never attested get a fresh single-use join token; the others re-attest with their node key. */
async function joinTokensForNewAgents(
  apiUrl: string,
  credential: Credential,
  stateDir: string,
  agents: string[],
): Promise<Map<string, string>> {
  const fresh: string[] = [];
  for (const id of agents) {
    if (!(await readOptional(join(agentStateDir(stateDir, id), "identity", "registration.json")))) fresh.push(id);
  }
  if (fresh.length === 0) return new Map();
  const jwt = await adminToken(credential, apiUrl);
  const tokens = await Promise.all(
    fresh.map((id) => createJoinToken(apiUrl, jwt, id, id === GATEWAY_ID ? "gateway" : "node")),
  );
  return new Map(fresh.map((id, i) => [id, tokens[i] as string]));
}

/** The control plane's tracing settings (the OpenTelemetry SDK's environment variable names). */
export function workerTracingVars(tracing: TracingConfig): Record<string, string> {
  return { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: tracing.endpoint, OTEL_TRACES_SAMPLER_ARG: String(tracing.sampleRatio) };
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const root = packageRoot();
  const agentScript = join(root, "dist", "node-firmware", "cli.js");
  await mkdir(options.stateDir, { recursive: true });
  const wrangler = await readWranglerToml(join(root, "wrangler.toml"));
  const trustDomain = wrangler.vars.TRUST_DOMAIN ?? "x0tta6bl4.mesh";
  const ca = await ensureCa(options.stateDir, trustDomain);
  const admin = await ensureLocalAdmin(options.stateDir, trustDomain, `http://127.0.0.1:${String(options.port)}`);
  const secrets = {
    X0_CA: JSON.stringify(ca),
    X0_BOOTSTRAP_ADMINS: admin.bootstrap,
    ...(options.tracing ? workerTracingVars(options.tracing) : {}),
  };
  const embedder = options.ragModel ? embedderHandler(await loadEmbedder(options.ragModel)) : undefined;
  const reaper = startReaper(options.print);
  const launchWorker = async () => {
    const started = await startLocalWorker({
      root,
      stateDir: options.stateDir,
      host: "127.0.0.1",
      port: options.port,
      wrangler,
      secrets,
      ...(embedder ? { embedder } : {}),
    });
    const pid = reaper.watchWorkerd();
    return { started, pid, startedAt: performance.now() };
  };
  /** The control plane while it runs: Miniflare's worker and its workerd process. */
  let edge: { started: LocalWorker; pid: number | undefined; startedAt: number } | undefined = await launchWorker();
  const apiUrl = edge.started.url.origin;
  if (edge.started.appliedMigrations.length > 0)
    options.print(`[stack] applied migrations: ${edge.started.appliedMigrations.join(", ")}`);

  const names = [GATEWAY_ID, ...nodeIds(options.nodes)];
  const joinTokens = await joinTokensForNewAgents(apiUrl, admin.credential, options.stateDir, names);
  const configs = stackConfigs({
    nodes: options.nodes,
    apiUrl,
    mqttPort: options.mqttPort,
    seed: options.seed,
    stateDir: options.stateDir,
    trustDomain,
    joinTokens,
    ...(options.metricsPort === undefined ? {} : { metricsPort: options.metricsPort }),
    ...(options.tracing ? { tracing: options.tracing } : {}),
  });
  const files = await writeConfigs(join(options.stateDir, "config"), configs);
  const agents = new Map<string, Supervised>();
  /** Children stopped on purpose (a restart asked for): their exit is not a failure to restart from. */
  const stoppedOnPurpose = new WeakSet<Supervised>();
  const restarts = new Map<string, RestartPolicy>();
  let stopping = false;
  const spawn = (name: string) => {
    const supervised = spawnAgent(name, agentScript, ["--config", files.get(name) as string], options.print);
    const startedAt = performance.now();
    void supervised.exited.then((code) => {
      if (stopping || stoppedOnPurpose.has(supervised) || agents.get(name) !== supervised) return;
      const policy = restarts.get(name) ?? new RestartPolicy();
      restarts.set(name, policy);
      const delay = policy.next(startedAt);
      options.print(
        `[stack] ${name} exited (${describeExit(code, supervised.child.signalCode)}); restarting in ${String(delay)} ms`,
      );
      setTimeout(() => {
        if (!stopping && agents.get(name) === supervised) spawn(name);
      }, delay).unref();
    });
    agents.set(name, supervised);
  };
  const edgeRestarts = new RestartPolicy();
  // Miniflare does not report workerd's death: watch its pid, and start the control plane again.
  const watchdog = setInterval(() => {
    if (stopping || !edge?.pid || isAlive(edge.pid)) return;
    const dead = edge;
    edge = undefined;
    const delay = edgeRestarts.next(dead.startedAt);
    options.print(
      `[stack] workerd (pid ${String(dead.pid)}) exited; restarting the control plane in ${String(delay)} ms`,
    );
    setTimeout(() => {
      void (async () => {
        await dead.started.dispose().catch(() => undefined);
        if (stopping || edge) return;
        edge = await launchWorker();
        options.print(`[stack] control plane restarted (workerd pid ${String(edge.pid)})`);
      })().catch((error: unknown) => {
        options.print(`[stack] control plane restart failed: ${errorText(error)}`);
      });
    }, delay).unref();
  }, WATCHDOG_MS);
  watchdog.unref();
  const triggers = wrangler.triggers.crons.map((cron) => ({ cron, due: cronMatcher(cron) }));
  let cronTimer: NodeJS.Timeout | undefined;
  const runTriggers = () => {
    const at = new Date(Math.round(Date.now() / 60_000) * 60_000);
    for (const { cron, due } of triggers)
      if (due(at) && edge)
        edge.started.scheduled(cron, at).catch((error: unknown) => {
          options.print(`[stack] cron "${cron}" failed: ${errorText(error)}`);
        });
    cronTimer = setTimeout(runTriggers, untilNextMinute(Date.now()));
    cronTimer.unref();
  };
  cronTimer = setTimeout(runTriggers, untilNextMinute(Date.now()));
  cronTimer.unref();
  for (const name of names) spawn(name);
  const mqttUrl = `mqtts://127.0.0.1:${String(options.mqttPort)}`;
  await writeFile(
    join(options.stateDir, "stack.json"),
    JSON.stringify(
      {
        apiUrl,
        mqttUrl,
        pid: process.pid,
        agents: [...agents.values()].map((c) => ({ name: c.name, pid: c.child.pid })),
      },
      null,
      2,
    ),
  );

  return {
    apiUrl,
    mqttUrl,
    credentialFile: admin.credentialFile,
    agents,
    stopEdge: async () => {
      const stopped = edge;
      edge = undefined;
      await stopped?.started.dispose();
    },
    startEdge: async () => {
      edge ??= await launchWorker();
    },
    restartAgent: async (name, how = "SIGTERM") => {
      const running = agents.get(name);
      if (!running) throw new Error(`no agent ${name}`);
      stoppedOnPurpose.add(running);
      if (how === "SIGKILL") running.child.kill("SIGKILL");
      await stopAll([running], STOP_GRACE_MS);
      spawn(name);
    },
    database: () => {
      if (!edge) throw new Error("the control plane is stopped");
      return edge.started.database();
    },
    stop: async () => {
      stopping = true;
      clearInterval(watchdog);
      clearTimeout(cronTimer);
      // Nodes first, so their goodbyes still reach the gateway; the gateway then flushes to the edge.
      const all = [...agents.values()];
      await stopAll(
        all.filter((c) => c.name !== GATEWAY_ID),
        STOP_GRACE_MS,
      );
      await stopAll(
        all.filter((c) => c.name === GATEWAY_ID),
        STOP_GRACE_MS,
      );
      if (edge) await disposeWithin(edge, DISPOSE_GRACE_MS, options.print);
      await reaper.stop();
    },
  };
}

const WATCHDOG_MS = 1000;
/** How long stopping waits for Miniflare to stop workerd before it kills workerd itself. */
const DISPOSE_GRACE_MS = 10_000;

/**
 * Disposes the control plane, bounded: Miniflare's dispose was seen not to return under load
 * (workerd kept its port), and a stop must stop.
 */
async function disposeWithin(
  edge: { started: LocalWorker; pid: number | undefined },
  graceMs: number,
  print: (line: string) => void,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => {
      resolve("timeout");
    }, graceMs);
  });
  const outcome = await Promise.race([edge.started.dispose().then(() => "disposed" as const), timedOut]);
  clearTimeout(timer);
  if (outcome === "disposed" || edge.pid === undefined) return;
  print(
    `[stack] the control plane did not stop within ${String(graceMs)} ms: killing workerd (pid ${String(edge.pid)})`,
  );
  try {
    process.kill(edge.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `code ${String(code)}`;
}
