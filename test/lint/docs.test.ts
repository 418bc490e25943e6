import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

/**
 * `npm run docs` builds: the OpenAPI document of every route, and the TypeDoc reference of the
 * contract and the SPIFFE library (warnings are errors).
 */
describe("npm run docs", () => {
  it("writes the OpenAPI document and the API reference without a warning", async () => {
    await promisify(execFile)("npm", ["run", "--silent", "docs"], { maxBuffer: 16 * 1024 * 1024 });
    const openapi = JSON.parse(await readFile("dist/docs/openapi.json", "utf8")) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(openapi.openapi).toBe("3.1.0");
    expect(Object.keys(openapi.paths)).toContain("/api/v1/identity/jwt-svid");
    const index = await readFile("dist/docs/reference/index.html", "utf8");
    expect(index).toContain("protocol");
    expect(index).toContain("spiffe");
  }, 120_000);
});
