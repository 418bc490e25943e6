import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { build } from "esbuild";
import { RELEASE } from "../protocol/release.js";

/**
 * The node firmware as it ships (`npm run build:firmware`): the agent in one ESM bundle, the BPF
 * objects beside it, and a manifest with the sha256 of each file. The same files serve amd64 and
 * arm64: the JavaScript is architecture-free and the BPF objects are CO-RE (relocated by the
 * kernel's BTF when loaded); what differs per architecture is the Node.js binary that runs them.
 */
const out = process.argv[2] ?? join("dist", "firmware");
const BPF_OBJECTS = ["xdp_guard.bpf.o", "tcp_health.bpf.o"];

await rm(out, { recursive: true, force: true });
await mkdir(join(out, "bpf"), { recursive: true });
await build({
  entryPoints: ["node-firmware/cli.ts"],
  outfile: join(out, "x0-node.mjs"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20.6",
  minify: false,
  legalComments: "linked",
  define: { __X0_BUNDLE__: "true" },
  // CommonJS dependencies (aedes, mqtt, prom-client) call require(); an ESM bundle has none of its own.
  banner: {
    js: 'import { createRequire as x0CreateRequire } from "node:module";\nconst require = x0CreateRequire(import.meta.url);',
  },
  logLevel: "warning",
});
for (const object of BPF_OBJECTS) await copyFile(join("bpf", object), join(out, "bpf", object));

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(out, join(e.parentPath, e.name)));
}

const files = await Promise.all(
  (await filesUnder(out)).sort().map(async (path) => ({
    path,
    bytes: (await stat(join(out, path))).size,
    sha256: createHash("sha256")
      .update(await readFile(join(out, path)))
      .digest("hex"),
  })),
);
const manifest = {
  name: "x0-node",
  version: RELEASE,
  entry: "x0-node.mjs",
  node: ">=20.6",
  platforms: ["linux/amd64", "linux/arm64"],
  files,
};
await writeFile(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`x0-node ${RELEASE} → ${out}: ${files.map((f) => `${f.path} (${String(f.bytes)} B)`).join(", ")}`);
