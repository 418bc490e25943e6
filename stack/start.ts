#!/usr/bin/env node
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { adminToken, type Credential } from "../ctl/credential.js";
import { readOptional } from "../node-firmware/identity/keystore.js";
import { GATEWAY_ID, agentStateDir, nodeIds, stackConfigs, writeConfigs } from "./configs.js";
import { createJoinToken, ensureCa, ensureLocalAdmin } from "./provision.js";
import { readWranglerToml } from "./wrangler-config.js";
import { spawnAgent, stopAll, type Supervised } from "./processes.js";
import { startLocalWorker, type LocalWorker } from "./worker.js";

const USAGE = `Usage: npm start -- [--nodes N] [--port P] [--mqtt-port P] [--state DIR]

Runs the whole x0tta6bl4 system on this machine: the control plane (workerd with local D1),
a gateway with the embedded MQTT broker, and N simulated nodes. Ctrl-C stops all of it.
  --nodes N       simulated nodes (default 5)
  --port P        control plane HTTP port (default 8787)
  --mqtt-port P   embedded broker port (default 1883)
  --state DIR     state folder: local D1, agent configs, build (default .x0)
  --seed N        seed of the simulated topology (default 1)`;

const HERE = dirname(fileURLToPath(import.meta.url));
/** dist/stack/start.js → repository root */
const ROOT = resolve(HERE, "..", "..");
const AGENT_SCRIPT = join(ROOT, "dist", "node-firmware", "cli.js");
const STOP_GRACE_MS = 10_000;

function intOption(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function readOptions() {
  const { values } = parseArgs({
    options: {
      nodes: { type: "string" },
      port: { type: "string" },
      "mqtt-port": { type: "string" },
      state: { type: "string" },
      seed: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  return {
    help: values.help === true,
    nodes: intOption("nodes", values.nodes, 5, 1, 200),
    port: intOption("port", values.port, 8787, 1, 65_535),
    mqttPort: intOption("mqtt-port", values["mqtt-port"], 1883, 1, 65_535),
    seed: intOption("seed", values.seed, 1, 0, 2 ** 31),
    stateDir: resolve(values.state ?? ".x0"),
  };
}

async function main(): Promise<void> {
  const options = readOptions();
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const startedAt = Date.now();
  await mkdir(options.stateDir, { recursive: true });
  const wrangler = await readWranglerToml(join(ROOT, "wrangler.toml"));
  const trustDomain = wrangler.vars.TRUST_DOMAIN ?? "x0tta6bl4.mesh";
  const ca = await ensureCa(options.stateDir, trustDomain);
  const admin = await ensureLocalAdmin(options.stateDir, trustDomain, `http://127.0.0.1:${options.port}`);
  const worker = await startLocalWorker({
    root: ROOT,
    stateDir: options.stateDir,
    host: "127.0.0.1",
    port: options.port,
    wrangler,
    secrets: { X0_CA: JSON.stringify(ca), X0_BOOTSTRAP_ADMINS: admin.bootstrap },
  });
  const apiUrl = worker.url.origin;
  if (worker.appliedMigrations.length > 0) console.log(`[stack] applied migrations: ${worker.appliedMigrations.join(", ")}`);

  const agents = [GATEWAY_ID, ...nodeIds(options.nodes)];
  const joinTokens = await joinTokensForNewAgents(apiUrl, admin.credential, options.stateDir, agents);
  const configs = stackConfigs({ nodes: options.nodes, apiUrl, mqttPort: options.mqttPort, seed: options.seed, stateDir: options.stateDir, trustDomain, joinTokens });
  const files = await writeConfigs(join(options.stateDir, "config"), configs);
  const children: Supervised[] = [];
  let stopping = false;
  const start = (name: string) => {
    const supervised = spawnAgent(name, AGENT_SCRIPT, ["--config", files.get(name) as string], (line) => { console.log(line); });
    void supervised.exited.then((code) => {
      if (!stopping) console.error(`[stack] ${name} exited with code ${String(code)}`);
    });
    children.push(supervised);
  };
  for (const id of agents) start(id);

  await writeFile(
    join(options.stateDir, "stack.json"),
    JSON.stringify({ apiUrl, mqttUrl: `mqtts://127.0.0.1:${options.mqttPort}`, pid: process.pid, agents: children.map((c) => ({ name: c.name, pid: c.child.pid })) }, null, 2),
  );
  console.log(
    [
      "",
      "x0tta6bl4 local stack is up",
      `  API        ${apiUrl}`,
      `  OpenAPI    ${apiUrl}/api/v1/openapi.json`,
      `  Nodes      npx x0ctl nodes   (admin credential: ${admin.credentialFile})`,
      `  MQTT       mqtts://127.0.0.1:${options.mqttPort}   (mTLS with X.509-SVIDs; CA: ${join(options.stateDir, "ca", "root.pem")})`,
      `  Agents     ${GATEWAY_ID} + ${options.nodes} simulated nodes`,
      `  State      ${options.stateDir}`,
      `  Started in ${Date.now() - startedAt} ms. Ctrl-C stops everything.`,
      "",
    ].join("\n"),
  );

  await stopOnSignal(async () => {
    stopping = true;
    await shutdown(children, worker);
  });
}

/** Agents that never attested get a fresh single-use join token; the others re-attest with their node key. */
async function joinTokensForNewAgents(apiUrl: string, credential: Credential, stateDir: string, agents: string[]): Promise<Map<string, string>> {
  const fresh: string[] = [];
  for (const id of agents) {
    if (!(await readOptional(join(agentStateDir(stateDir, id), "identity", "registration.json")))) fresh.push(id);
  }
  if (fresh.length === 0) return new Map();
  const jwt = await adminToken(credential, apiUrl);
  const tokens = await Promise.all(fresh.map((id) => createJoinToken(apiUrl, jwt, id, id === GATEWAY_ID ? "gateway" : "node")));
  return new Map(fresh.map((id, i) => [id, tokens[i] as string]));
}

function stopOnSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolveStopped) => {
    const onSignal = (signal: NodeJS.Signals) => {
      console.log(`\n[stack] ${signal}: stopping every agent and the control plane`);
      stop().then(resolveStopped, (error: unknown) => {
        console.error(`[stack] stop failed: ${String(error)}`);
        process.exitCode = 1;
        resolveStopped();
      });
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
}

async function shutdown(children: Supervised[], worker: LocalWorker): Promise<void> {
  // Nodes first, so their goodbyes still reach the gateway; the gateway then flushes to the edge.
  await stopAll(children.filter((c) => c.name !== GATEWAY_ID), STOP_GRACE_MS);
  await stopAll(children.filter((c) => c.name === GATEWAY_ID), STOP_GRACE_MS);
  await worker.dispose();
  console.log("[stack] stopped");
}

main().catch((error: unknown) => {
  console.error(`[stack] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
