import { parseArgs } from "node:util";
import { ApiError, DEFAULT_API } from "./api.js";
import { COMMANDS } from "./commands.js";

const USAGE = `Usage: x0ctl <command> [--json] [--api URL]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join("\n")}

Options:
  --api URL   control plane URL (default: $X0_API or ${DEFAULT_API})
  --json      print the API's JSON instead of a table`;

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export async function runCli(argv: string[], env: NodeJS.ProcessEnv, { out, err }: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { api: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
  } catch (error) {
    err(`x0ctl: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [name] = positionals;
  if (values.help || name === undefined) {
    (values.help ? out : err)(USAGE);
    return values.help ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    err(`x0ctl: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    await command.run({ api: values.api ?? env.X0_API ?? DEFAULT_API, json: values.json === true, out });
    return 0;
  } catch (error) {
    if (error instanceof ApiError) {
      err(`x0ctl: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
