import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { parse as parseToml } from "smol-toml";
import { describeIssues, errorText } from "../../protocol/index.js";
import { AgentConfig } from "./schema.js";

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: invalid configuration\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

function parseText(file: string, text: string): unknown {
  const ext = extname(file).toLowerCase();
  try {
    if (ext === ".toml") return parseToml(text);
    if (ext === ".json") return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError(file, [`cannot parse ${ext.slice(1).toUpperCase()}: ${errorText(error)}`]);
  }
  throw new ConfigError(file, [`unknown config format "${ext}": use .toml or .json`]);
}

/** Validates a parsed config; each bad field becomes one line naming its path. */
export function validateConfig(file: string, raw: unknown): AgentConfig {
  const result = AgentConfig.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(
    file,
    describeIssues(result.error).map((issue) => `${issue.path}: ${issue.message}`),
  );
}

export async function loadConfig(file: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new ConfigError(file, [`cannot read: ${errorText(error)}`]);
  }
  return validateConfig(file, parseText(file, text));
}
