#!/usr/bin/env node
import { parseArgs } from "node:util";
import { RELEASE } from "../protocol/index.js";
import { startAgent } from "./agent/run.js";
import { ConfigError, loadConfig } from "./config/load.js";
import { createLogger, errorText } from "./lib/log.js";

const USAGE = `Usage: x0-node --config <file.toml|file.json>

Runs the x0tta6bl4 node agent (role "node" or "gateway", from the config file).
Options:
  -c, --config <file>  configuration file (TOML or JSON)
      --supervised     stop when standard input closes: the supervisor that started
                       this agent holds the other end, so the agent dies with it
  -h, --help           show this help
  -v, --version        print the firmware version`;

const STOP_DEADLINE_MS = 8000;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      config: { type: "string", short: "c" },
      supervised: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
  if (values.help) return print(USAGE, 0);
  if (values.version) return print(RELEASE, 0);
  if (!values.config) return print(`x0-node: --config is required\n\n${USAGE}`, 2);

  const config = await loadConfig(values.config);
  const log = createLogger({ node: config.nodeId, role: config.role }, config.logLevel);
  const agent = await startAgent(config, log);
  log.info("agent started", { firmware: RELEASE, broker: config.broker.url });

  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info("stopping", { signal });
      const deadline = setTimeout(() => {
        log.error("graceful stop timed out");
        resolve(1);
      }, STOP_DEADLINE_MS);
      agent
        .stop()
        .then(() => {
          resolve(0);
        })
        .catch((error: unknown) => {
          log.error("stop failed", { error: errorText(error) });
          resolve(1);
        })
        .finally(() => {
          clearTimeout(deadline);
        });
    };
    process.once("SIGINT", () => {
      shutdown("SIGINT");
    });
    process.once("SIGTERM", () => {
      shutdown("SIGTERM");
    });
    if (values.supervised) {
      // The pipe closes when the supervisor exits, however it died (SIGKILL included).
      process.stdin.once("close", () => {
        shutdown("supervisor gone");
      });
      process.stdin.resume();
    }
  });
}

function print(text: string, code: number): number {
  (code === 0 ? process.stdout : process.stderr).write(text + "\n");
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(error.message + "\n");
      process.exit(2);
    }
    process.stderr.write(`x0-node: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
