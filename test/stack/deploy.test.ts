import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { useTempDirs } from "../helpers/tmp.js";

const dir = useTempDirs("x0-deploy-");

describe("npm run deploy:staging", () => {
  it("bundles the Worker for staging with its bindings (--dry-run: nothing is uploaded)", async () => {
    const outdir = await dir();
    const { stdout } = await promisify(execFile)(
      "npm",
      ["run", "--silent", "deploy:staging", "--", "--dry-run", "--outdir", outdir],
      {
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
      },
    );
    expect(stdout).toMatch(/env\.DB \(x0tta6bl4-staging\)/);
    expect(stdout).toMatch(/TRUST_DOMAIN \("staging\.x0tta6bl4\.mesh"\)/);
    expect(stdout).toContain("--dry-run: exiting now.");
    expect(existsSync(join(outdir, "index.js"))).toBe(true);
  }, 60_000);
});
