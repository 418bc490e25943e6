import { spawnSync } from "node:child_process";

export const hasPromtool = spawnSync("sh", ["-c", "command -v promtool"]).status === 0;

/** `promtool check metrics` on a /metrics body: its verdict and what it said. */
export function promtoolCheck(text: string): { status: number | null; said: string } {
  const result = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  return { status: result.status, said: `${result.stdout}${result.stderr}`.trim() };
}
