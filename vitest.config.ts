import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { embedderHandler, loadEmbedder } from "./embedder/index.js";
import { encodeVector } from "./protocol/index.js";
import { embedderBinding } from "./stack/index.js";
import { bootstrapAdminsJson, createTestPki } from "./test/helpers/pki.js";
import { tinyModel } from "./test/helpers/tiny-model.js";

const pki = await createTestPki();
// The Worker tests reach a real transformers.js embedder (on a generated tiny model) through a
// service binding, as `npm start` gives one to the local Worker.
const embedder = await loadEmbedder(await tinyModel());
/** A text's vector as the Node embedder gives it itself, for the Worker tests to compare with the binding's. */
const REFERENCE_TEXT = "the mesh link loss was fixed by a reroute";
const [referenceVector = new Float32Array(0)] = await embedder.embed([REFERENCE_TEXT]);

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest(async () => ({
            main: "./workers/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                TEST_MIGRATIONS: await readD1Migrations(path.resolve("migrations")),
                X0_CA: JSON.stringify(pki.caSecret),
                X0_BOOTSTRAP_ADMINS: bootstrapAdminsJson(pki),
                TEST_ADMIN: JSON.stringify(pki.admin),
                TEST_ROOT_PEM: pki.rootPem,
                TEST_EMBED_REFERENCE: JSON.stringify({ text: REFERENCE_TEXT, vector: encodeVector(referenceVector) }),
              },
              serviceBindings: { EMBEDDER: embedderBinding(embedderHandler(embedder)) },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          setupFiles: ["./test/workers/apply-migrations.ts"],
        },
      },
      {
        // The fast tier (`npm run test:unit`): no process, socket or kernel; the guard refuses them.
        test: {
          name: "unit",
          include: ["test/**/*.unit.test.ts"],
          exclude: ["test/workers/**"],
          setupFiles: ["./test/helpers/unit-guard.ts"],
          environment: "node",
          pool: "threads",
        },
      },
      {
        test: {
          name: "node",
          include: [
            "test/bench/**/*.test.ts",
            "test/protocol/**/*.test.ts",
            "test/spiffe/**/*.test.ts",
            "test/otlp/**/*.test.ts",
            "test/node-firmware/**/*.test.ts",
            "test/ebpf/**/*.test.ts",
            "test/dashboards/**/*.test.ts",
            "test/ctl/**/*.test.ts",
            "test/stack/**/*.test.ts",
            "test/lint/**/*.test.ts",
            "test/embedder/**/*.test.ts",
            "test/dao/**/*.test.ts",
          ],
          exclude: ["**/*.unit.test.ts"],
          environment: "node",
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
