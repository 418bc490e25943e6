import { copyFile, mkdir } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { build, type Plugin } from "esbuild";
import { Log, LogLevel, Miniflare, Response as MiniflareResponse } from "miniflare";
import { applyMigrations } from "./migrations.js";
import type { WranglerToml } from "./wrangler-config.js";

export interface LocalWorkerOptions {
  root: string;
  stateDir: string;
  host: string;
  port: number;
  wrangler: WranglerToml;
  /** Secrets and vars on top of wrangler.toml's `[vars]` (what `wrangler secret put` sets in production). */
  secrets?: Record<string, string>;
  /** The Node embedder, bound to the Worker as the EMBEDDER service; absent: RAG is lexical only. */
  embedder?: (request: Request) => Promise<Response>;
}

export interface LocalWorker {
  url: URL;
  appliedMigrations: string[];
  /** The local D1 itself, for tooling and tests that check what was stored. */
  database(): ReturnType<Miniflare["getD1Database"]>;
  /** Runs the Worker's `scheduled` handler as a cron trigger would. */
  scheduled(cron: string, at: Date): Promise<void>;
  dispose(): Promise<void>;
}

/** Bundles the Worker the way wrangler would for workerd (ESM, worker conditions). */
async function bundleWorker(root: string, entry: string, outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const outfile = join(outDir, "worker.js");
  await build({
    entryPoints: [resolve(root, entry)],
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["workerd", "worker", "browser", "module", "main"],
    // workerd's own modules (Durable Object base classes), as wrangler leaves them.
    external: ["cloudflare:*"],
    plugins: [wasmModules(outDir)],
    logLevel: "warning",
  });
  return outfile;
}

/**
 * WebAssembly imports stay module imports, as wrangler's CompiledWasm rule has them (Workers
 * cannot compile WebAssembly at run time): each file is copied beside the bundle.
 */
function wasmModules(outDir: string): Plugin {
  return {
    name: "wasm-modules",
    setup(build) {
      build.onResolve({ filter: /\.wasm$/ }, async (args) => {
        const name = basename(args.path);
        await copyFile(resolve(args.resolveDir, args.path), join(outDir, name));
        return { path: `./${name}`, external: true };
      });
    },
  };
}

/**
 * Runs the control plane in workerd through Miniflare, configured from wrangler.toml, with D1
 * persisted where `wrangler --persist-to <stateDir>` keeps it and migrations applied on start.
 */
export async function startLocalWorker(options: LocalWorkerOptions): Promise<LocalWorker> {
  const { wrangler } = options;
  const scriptPath = await bundleWorker(options.root, wrangler.main, join(options.stateDir, "build"));
  const d1 = wrangler.d1_databases[0];
  if (!d1) throw new Error("wrangler.toml has no [[d1_databases]]");
  const before = signalListeners();
  const mf = new Miniflare({
    name: "x0tta6bl4-control-plane",
    scriptPath,
    modules: true,
    modulesRoot: dirname(scriptPath),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: wrangler.compatibility_date,
    compatibilityFlags: wrangler.compatibility_flags,
    bindings: { ...wrangler.vars, ...options.secrets },
    d1Databases: { [d1.binding]: d1.database_id },
    d1Persist: join(options.stateDir, "state", "v3", "d1"),
    durableObjects: durableObjectsOf(wrangler),
    durableObjectsPersist: join(options.stateDir, "state", "v3", "do"),
    ...(options.embedder ? { serviceBindings: { EMBEDDER: embedderBinding(options.embedder) } } : {}),
    host: options.host,
    port: options.port,
    cf: false,
    log: new Log(LogLevel.WARN),
  });
  releaseSignals(before);
  try {
    const url = await mf.ready;
    const db = await mf.getD1Database(d1.binding);
    const appliedMigrations = await applyMigrations(db, join(options.root, d1.migrations_dir));
    return {
      url,
      appliedMigrations,
      database: () => mf.getD1Database(d1.binding),
      scheduled: async (cron, at) => {
        await (await mf.getWorker()).scheduled({ cron, scheduledTime: at });
      },
      dispose: () => mf.dispose(),
    };
  } catch (error) {
    await mf.dispose();
    throw error;
  }
}

/** wrangler.toml's Durable Object bindings, with SQLite storage where its migrations say so. */
function durableObjectsOf(wrangler: WranglerToml) {
  const sqlite = new Set(wrangler.migrations.flatMap((m) => m.new_sqlite_classes));
  return Object.fromEntries(
    wrangler.durable_objects.bindings.map((b) => [
      b.name,
      { className: b.class_name, useSQLite: sqlite.has(b.class_name) },
    ]),
  );
}

/** Miniflare hands a service binding its own Request class; the embedder takes the standard one. */
export function embedderBinding(handler: (request: Request) => Promise<Response>) {
  return async (request: { url: string; method: string; headers: Headers; text(): Promise<string> }) => {
    const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.text();
    const response = await handler(
      new Request(request.url, { method: request.method, headers: request.headers, body }),
    );
    return new MiniflareResponse(await response.text(), { status: response.status, headers: [...response.headers] });
  };
}

const SIGNALS = ["SIGINT", "SIGTERM"] as const;
const signalListeners = () => new Set(SIGNALS.flatMap((signal) => process.listeners(signal)));

/**
 * Miniflare installs SIGINT/SIGTERM hooks that exit the process at once. The stack stops its
 * agents first and disposes Miniflare itself, so those hooks are taken off again.
 */
function releaseSignals(before: Set<NodeJS.SignalsListener>): void {
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal))
      if (!before.has(listener)) process.removeListener(signal, listener);
  }
}
