#!/usr/bin/env node
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { adminToken, dashboardUrl, readCredential } from "../ctl/index.js";
import { GATEWAY_ID } from "./configs.js";
import { startStack } from "./stack.js";
import type { TracingConfig } from "../node-firmware/tracing/index.js";
import { errorText } from "../protocol/index.js";

const USAGE = `Usage: npm start -- [--nodes N] [--port P] [--mqtt-port P] [--state DIR]

Runs the whole x0tta6bl4 system on this machine: the control plane (workerd with local D1),
a gateway with the embedded MQTT broker, and N simulated nodes. Ctrl-C stops all of it.
  --nodes N       simulated nodes (default 5)
  --port P        control plane HTTP port (default 8787)
  --mqtt-port P   embedded broker port (default 1883)
  --state DIR     state folder: local D1, agent configs, build (default .x0)
  --seed N        seed of the simulated topology (default 1)
  --metrics-port P  Prometheus /metrics of the gateway (default 9464); node i on P+i
  --otlp-endpoint URL  send OpenTelemetry traces (OTLP/HTTP) of every agent and the control plane
                       to this collector, e.g. http://127.0.0.1:4318/v1/traces (default: off)
  --trace-sample-ratio R  share of new traces recorded, 0-1 (default 1)
  --rag-model DIR  a local embedding model folder (all-MiniLM-L6-v2 in the Hugging Face layout;
                   npx x0ctl rag model check DIR) for hybrid RAG search (default: lexical only)`;

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
      "metrics-port": { type: "string" },
      "otlp-endpoint": { type: "string" },
      "trace-sample-ratio": { type: "string" },
      "rag-model": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  return {
    help: values.help === true,
    nodes: intOption("nodes", values.nodes, 5, 1, 200),
    port: intOption("port", values.port, 8787, 1, 65_535),
    mqttPort: intOption("mqtt-port", values["mqtt-port"], 1883, 1, 65_535),
    seed: intOption("seed", values.seed, 1, 0, 2 ** 31),
    metricsPort: intOption("metrics-port", values["metrics-port"], 9464, 1, 65_000),
    stateDir: resolve(values.state ?? ".x0"),
    ...(values["rag-model"] === undefined ? {} : { ragModel: resolve(values["rag-model"]) }),
    ...tracingOptions(values["otlp-endpoint"], values["trace-sample-ratio"]),
  };
}

function tracingOptions(endpoint: string | undefined, ratio: string | undefined): { tracing?: TracingConfig } {
  if (endpoint === undefined) {
    if (ratio !== undefined) throw new Error("--trace-sample-ratio needs --otlp-endpoint");
    return {};
  }
  if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol))
    throw new Error(`--otlp-endpoint must be an http(s) URL, got "${endpoint}"`);
  const sampleRatio = ratio === undefined ? 1 : Number(ratio);
  if (!Number.isFinite(sampleRatio) || sampleRatio < 0 || sampleRatio > 1)
    throw new Error(`--trace-sample-ratio must be from 0 to 1, got "${ratio ?? ""}"`);
  return { tracing: { endpoint, sampleRatio } };
}

async function main(): Promise<void> {
  const options = readOptions();
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const startedAt = Date.now();
  const stack = await startStack({
    ...options,
    print: (line) => {
      console.log(line);
    },
  });
  console.log(
    [
      "",
      "x0tta6bl4 local stack is up",
      `  API        ${stack.apiUrl}`,
      `  Dashboard  ${await dashboardUrl({ api: stack.apiUrl, token: async () => adminToken(await readCredential(stack.credentialFile), stack.apiUrl) })}`,
      `             (a single-use code, 60 s, for a 1 h session; npx x0ctl dashboard prints a fresh one)`,
      `  OpenAPI    ${stack.apiUrl}/api/v1/openapi.json`,
      `  Nodes      npx x0ctl nodes   (admin credential: ${stack.credentialFile})`,
      `  MQTT       ${stack.mqttUrl}   (mTLS with X.509-SVIDs; CA: ${join(options.stateDir, "ca", "root.pem")})`,
      `  Metrics    http://127.0.0.1:${String(options.metricsPort)}/metrics (${GATEWAY_ID}); node-i on port ${String(options.metricsPort)}+i`,
      `  RAG        ${options.ragModel ? `hybrid, embeddings from ${options.ragModel}` : "lexical only (--rag-model DIR adds embeddings)"}; npx x0ctl rag ingest docs/`,
      `  Traces     ${options.tracing ? `${options.tracing.endpoint} (sampled ${String(options.tracing.sampleRatio)})` : "off (--otlp-endpoint URL turns them on)"}`,
      `  Agents     ${GATEWAY_ID} + ${String(options.nodes)} simulated nodes`,
      `  State      ${options.stateDir}`,
      `  Started in ${String(Date.now() - startedAt)} ms. Ctrl-C stops everything.`,
      "",
    ].join("\n"),
  );
  await stopOnSignal(async () => {
    await stack.stop();
    console.log("[stack] stopped");
  });
  // Everything started is stopped; a handle a disposed Miniflare may leave must not keep this process.
  process.exit();
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

main().catch((error: unknown) => {
  console.error(`[stack] ${errorText(error)}`);
  process.exit(1);
});
