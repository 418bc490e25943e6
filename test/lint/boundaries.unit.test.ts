import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

/**
 * The boundaries of eslint.config.js, shown refusing a deliberate violation of each (linted as
 * if the text were that file; nothing is written) and accepting what the code does today.
 */
// With CI=true typescript-eslint assumes one pass over files on disk and would parse the file,
// not the text given here; this test lints text under existing paths.
process.env.TSESTREE_SINGLE_RUN = "false";
const eslint = new ESLint({ cwd: process.cwd() });

async function importErrors(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: file });
  return (result?.messages ?? []).filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

describe("dependency boundaries (lint)", () => {
  it.each([
    ["protocol/telemetry.ts", 'import { x } from "../node-firmware/lib/log.js";\nexport const y = x;\n', /contract/],
    ["protocol/telemetry.ts", 'import { x } from "jose";\nexport const y = x;\n', /contract/],
    ["protocol/telemetry.ts", 'import { x } from "../spiffe/x509svid.js";\nexport const y = x;\n', /contract/],
    ["otlp/export.ts", 'import { x } from "../protocol/index.js";\nexport const y = x;\n', /library/],
    ["spiffe/id.ts", 'import { x } from "../protocol/index.js";\nexport const y = x;\n', /library/],
    [
      "workers/mape/plan.ts",
      'import { x } from "../../node-firmware/lib/log.js";\nexport const y = x;\n',
      /control plane never imports/,
    ],
    [
      "ctl/sim.ts",
      'import { x } from "../node-firmware/identity/keystore.js";\nexport const y = x;\n',
      /public entry points/,
    ],
    ["bench/loop.ts", 'import { x } from "../stack/proc.js";\nexport const y = x;\n', /public entry points/],
    ["stack/stack.ts", 'import { x } from "../workers/mape/plan.js";\nexport const y = x;\n', /public entry points/],
    [
      "node-firmware/agent/run.ts",
      'import { x } from "../../workers/app.js";\nexport const y = x;\n',
      /firmware never imports/,
    ],
  ])(
    "refuses in %s: %j",
    async (file, source, message) => {
      const errors = await importErrors(file, source);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(message);
    },
    60_000,
  );

  it("accepts a tool's imports of public entry points", async () => {
    const source =
      'import { a } from "../node-firmware/identity/index.js";\nimport { b } from "../stack/index.js";\nimport { c } from "../protocol/index.js";\nexport const d = [a, b, c];\n';
    expect(await importErrors("bench/loop.ts", source)).toEqual([]);
  }, 60_000);

  it("accepts the imports the contract is allowed", async () => {
    expect(
      await importErrors(
        "protocol/telemetry.ts",
        'import { z } from "zod";\nimport { a } from "./ids.js";\nimport { b } from "../spiffe/id.js";\nexport const c = [z, a, b];\n',
      ),
    ).toEqual([]);
  }, 60_000);
});
