import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ApiError, DEFAULT_API, type ApiSession } from "./api.js";
import { COMMANDS } from "./commands.js";
import { adminToken, readCredential, type Credential } from "./credential.js";
import { publishSimFault } from "./sim.js";
import { errorText } from "../protocol/index.js";

const LOCAL_CREDENTIAL = "admin-credential.json";
/** The state folder of a local stack (`npm start -- --state DIR`), where its admin credential lives. */
const stateDir = (env: NodeJS.ProcessEnv) => env.X0_STATE ?? ".x0";

const USAGE = `Usage: x0ctl <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${`${name}${c.args ? ` ${c.args}` : ""}`.padEnd(22)} ${c.summary}`)
  .join("\n")}

Options:
  --api URL          control plane URL (default: $X0_API, else the credential's, else ${DEFAULT_API})
  --credential FILE  admin credential (default: $X0_CREDENTIAL, else \$X0_STATE/${LOCAL_CREDENTIAL}
                     when present; X0_STATE defaults to .x0, the folder npm start uses)
  --mqtt URL         broker for sim commands (default: the local stack's, from \$X0_STATE/stack.json)
  --json             print JSON instead of a table`;

async function readStackMqttUrl(dir: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(join(dir, "stack.json"), "utf8")) as { mqttUrl?: string }).mqttUrl;
  } catch {
    return undefined;
  }
}

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

function session(
  api: string,
  credentialFile: string | undefined,
  localCredential: string,
  mqttUrl: string | undefined,
): ApiSession {
  let credential: Promise<Credential> | undefined;
  let token: Promise<string> | undefined;
  const readIt = () => {
    if (!credentialFile)
      return Promise.reject(
        new ApiError(
          `no admin credential: pass --credential or set X0_CREDENTIAL (npm start writes ${localCredential})`,
        ),
      );
    credential ??= readCredential(credentialFile).catch((error: unknown) => {
      throw new ApiError(`cannot read the credential ${credentialFile}: ${errorText(error)}`);
    });
    return credential;
  };
  return {
    api,
    simFault: async (nodeId, fault) => {
      if (!mqttUrl)
        throw new ApiError("no broker URL: pass --mqtt, or run against a local stack (its stack.json names it)");
      await publishSimFault(await readIt(), api, mqttUrl, nodeId, fault);
    },
    token: () => {
      token ??= readIt()
        .then((c) => adminToken(c, api))
        .catch((error: unknown) => {
          if (error instanceof ApiError) throw error;
          throw new ApiError(`cannot authenticate as admin: ${errorText(error)}`);
        });
      return token;
    },
  };
}

export async function runCli(argv: string[], env: NodeJS.ProcessEnv, { out, err }: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        api: { type: "string" },
        credential: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        node: { type: "string" },
        role: { type: "string" },
        ttl: { type: "string" },
        "spiffe-id": { type: "string" },
        serial: { type: "string" },
        reason: { type: "string" },
        "trust-domain": { type: "string" },
        out: { type: "string" },
        dir: { type: "string" },
        mqtt: { type: "string" },
        neighbor: { type: "string" },
        latency: { type: "string" },
        loss: { type: "string" },
        source: { type: "string" },
        pps: { type: "string" },
        k: { type: "string" },
        mode: { type: "string" },
        collection: { type: "string" },
        tag: { type: "string" },
        tags: { type: "string" },
        key: { type: "string" },
        space: { type: "string" },
        type: { type: "string" },
        choices: { type: "string" },
        changes: { type: "string" },
        body: { type: "string" },
        start: { type: "string" },
        period: { type: "string" },
        block: { type: "string" },
      },
    });
  } catch (error) {
    err(`x0ctl: ${errorText(error)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    (values.help ? out : err)(USAGE);
    return values.help ? 0 : 2;
  }
  // The longest run of leading words that names a command ("rag model check"); the rest are its arguments.
  const words = [3, 2, 1].find((n) => COMMANDS[positionals.slice(0, n).join(" ")] !== undefined) ?? 0;
  const command = COMMANDS[positionals.slice(0, words).join(" ")];
  const args = positionals.slice(words);
  if (!command) {
    err(`x0ctl: unknown command "${positionals.join(" ")}"\n\n${USAGE}`);
    return 2;
  }
  if (args.length > 0 && !command.args) {
    err(`x0ctl: ${positionals.slice(0, words).join(" ")} takes no arguments, got "${args.join(" ")}"`);
    return 2;
  }
  const localCredential = join(stateDir(env), LOCAL_CREDENTIAL);
  const credentialFile =
    values.credential ?? env.X0_CREDENTIAL ?? (existsSync(localCredential) ? localCredential : undefined);
  const credentialApi =
    credentialFile && existsSync(credentialFile)
      ? (await readCredential(credentialFile).catch(() => undefined))?.api
      : undefined;
  const api = values.api ?? env.X0_API ?? credentialApi ?? DEFAULT_API;
  try {
    const mqttUrl = values.mqtt ?? (await readStackMqttUrl(stateDir(env)));
    await command.run({
      session: session(api, credentialFile, localCredential, mqttUrl),
      json: values.json === true,
      options: values,
      args,
      out,
    });
    return 0;
  } catch (error) {
    if (error instanceof ApiError) {
      err(`x0ctl: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
