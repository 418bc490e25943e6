import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

/**
 * The firmware image cannot be built here (no Docker): its files are held to the build they wrap,
 * so a renamed script, output folder or entry point fails this test rather than the release.
 */
const text = (path: string) => readFile(path, "utf8");

describe("the firmware image (Dockerfile, docker-bake.hcl, the GHCR workflow)", () => {
  it("builds with npm run build:firmware and runs the bundle it writes", async () => {
    const [dockerfile, pkg, build] = await Promise.all([
      text("Dockerfile"),
      text("package.json"),
      text("scripts/build-firmware.ts"),
    ]);
    const scripts = (JSON.parse(pkg) as { scripts: Record<string, string> }).scripts;
    expect(dockerfile).toMatch(/^RUN npm run build:firmware$/m);
    expect(scripts["build:firmware"]).toBeDefined();
    expect(build).toContain('join("dist", "firmware")');
    expect(dockerfile).toContain("COPY --from=build /src/dist/firmware /opt/x0-node");
    expect(build).toContain('"x0-node.mjs"');
    expect(dockerfile).toContain('ENTRYPOINT ["node", "/opt/x0-node/x0-node.mjs"]');
    expect(dockerfile).toMatch(/^FROM --platform=\$BUILDPLATFORM node:20-bookworm-slim AS build$/m);
  });

  it("is baked for linux/amd64 and linux/arm64, the platforms the manifest names", async () => {
    const [bake, build] = await Promise.all([text("docker-bake.hcl"), text("scripts/build-firmware.ts")]);
    expect(bake).toContain('platforms  = ["linux/amd64", "linux/arm64"]');
    expect(build).toContain('platforms: ["linux/amd64", "linux/arm64"]');
  });

  it("is pushed to GHCR by a workflow on release tags, through the bake file", async () => {
    const workflow = parse(await text(".github/workflows/firmware-image.yml")) as {
      on: { push: { tags: string[] } };
      permissions: Record<string, string>;
      jobs: { image: { steps: { uses?: string; with?: Record<string, unknown> }[] } };
    };
    expect(workflow.on.push.tags).toEqual(["v*"]);
    expect(workflow.permissions.packages).toBe("write");
    const bakeStep = workflow.jobs.image.steps.find((step) => step.uses?.startsWith("docker/bake-action@"));
    expect(bakeStep?.with).toMatchObject({ files: "docker-bake.hcl", push: true });
    expect(await text(".dockerignore")).toMatch(/^node_modules$/m);
  });
});
