import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { OPENAPI_PATH, createApp } from "../workers/app.js";

/**
 * The OpenAPI 3.1 document of the control plane, as the Worker serves it at /api/v1/openapi.json,
 * written to dist/docs/openapi.json for the reference docs (`npm run docs`).
 */
const out = join(process.argv[2] ?? "dist/docs", "openapi.json");
const document = createApp().getOpenAPI31Document({
  openapi: "3.1.0",
  info: { title: "x0tta6bl4 control plane", version: "1" },
});
await mkdir(join(out, ".."), { recursive: true });
await writeFile(out, JSON.stringify(document, null, 2) + "\n");
console.log(`${OPENAPI_PATH} → ${out}: ${String(Object.keys(document.paths ?? {}).length)} paths`);
