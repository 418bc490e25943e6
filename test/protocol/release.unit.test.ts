import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { RELEASE } from "../../protocol/index.js";

describe("RELEASE", () => {
  it("is package.json's version (RELEASING.md: bump both)", async () => {
    const pkg = JSON.parse(await readFile("package.json", "utf8")) as { version: string };
    expect(RELEASE).toBe(pkg.version);
  });
});
