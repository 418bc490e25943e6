import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";

interface PackageRule {
  description: string;
  matchPackageNames: string[];
  allowedVersions?: string;
}

/**
 * renovate.json, held to what it claims: every rule names packages we use, and the pins it allows
 * are the ones installed.
 */
describe("renovate.json", () => {
  it("names only packages of package.json, and allows the versions installed", async () => {
    const config = JSON.parse(await readFile("renovate.json", "utf8")) as {
      extends: string[];
      packageRules: PackageRule[];
    };
    const pkg = JSON.parse(await readFile("package.json", "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const versions = { ...pkg.dependencies, ...pkg.devDependencies };
    expect(config.extends).toContain("config:recommended");
    for (const rule of config.packageRules) {
      expect(rule.description.length, "every rule says why").toBeGreaterThan(10);
      for (const name of rule.matchPackageNames) {
        const matching = Object.keys(versions).filter((dep) =>
          name.endsWith("/**") ? dep.startsWith(name.slice(0, -2)) : dep === name,
        );
        expect(matching.length, `${name} matches a dependency`).toBeGreaterThan(0);
        if (!rule.allowedVersions) continue;
        // eslint-disable-next-line security/detect-non-literal-regexp -- the pattern is our own config's
        const allowed = new RegExp(rule.allowedVersions.slice(1, -1));
        for (const dep of matching) expect(versions[dep], `${dep} within allowedVersions`).toMatch(allowed);
      }
    }
  });
});
