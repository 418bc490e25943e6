import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { sourceFiles } from "../../helpers/sources.js";

/**
 * aedes 2 is a beta, pinned exactly, and one module touches it: `mqtt/aedes.ts` (the broker class,
 * its packet types, and the one private part we rely on, its packet parser). Whoever moves the
 * pin reads this first: re-run `npm run research:broker-properties` and the broker tests, and check
 * the parser hook still sees every packet.
 */
describe("the aedes pin", () => {
  it("is exactly the version the broker was verified with, and one module imports it", async () => {
    const pkg = JSON.parse(await readFile("package.json", "utf8")) as { dependencies: Record<string, string> };
    const installed = JSON.parse(await readFile("node_modules/aedes/package.json", "utf8")) as { version: string };
    expect(pkg.dependencies.aedes, "aedes moved: see this test's comment before changing the expectation").toBe(
      "2.0.0-beta.1",
    );
    expect(installed.version).toBe("2.0.0-beta.1");
    const importers: string[] = [];
    for (const file of sourceFiles()) if ((await readFile(file, "utf8")).includes('from "aedes"')) importers.push(file);
    expect(importers).toEqual(["node-firmware/mqtt/aedes.ts"]);
  });
});
