import { readdir, readFile, stat } from "node:fs/promises";
import { basename, extname, join, relative, resolve } from "node:path";
import { z } from "zod";
import { checkModelFolder, loadEmbedder, writeTinyModel } from "../embedder/index.js";
import {
  RagAnswer,
  RagCollection,
  RagDocument,
  RagDocumentInput,
  RagDocumentList,
  RagMode,
  errorText,
  ragLimits,
} from "../protocol/index.js";
import { ApiError, request, requestWithStatus } from "./api.js";
import type { Command, CommandContext } from "./commands.js";
import { renderTable } from "./table.js";

const TEXT_FILES = new Set([".md", ".markdown", ".txt"]);
/** Background indexing is polled this often, at most this long per document. */
const POLL_MS = 250;
const POLL_LIMIT_MS = 120_000;
const BAR_WIDTH = 24;

async function filesUnder(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new ApiError(`${path}: no such file or folder`);
  if (info.isFile()) return [path];
  const entries = await readdir(path, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && TEXT_FILES.has(extname(e.name).toLowerCase()))
    .map((e) => join(e.parentPath, e.name))
    .filter((file) => !file.split("/").includes("node_modules"))
    .sort();
}

/** A Markdown file's first heading, else its name. */
const titleOf = (file: string, text: string) =>
  /^#\s+(.+)$/m.exec(text)?.[1]?.trim().slice(0, 200) ?? basename(file, extname(file));

function listOption(ctx: CommandContext, name: string): string[] {
  const value = ctx.options[name];
  return typeof value === "string" && value !== "" ? value.split(",").map((v) => v.trim()) : [];
}

function collectionOption(ctx: CommandContext): "runbooks" | "incidents" {
  const value = ctx.options.collection ?? "runbooks";
  if (value !== "runbooks" && value !== "incidents")
    throw new ApiError(`--collection must be runbooks or incidents, got "${String(value)}"`);
  return value;
}

function bar(done: number, total: number): string {
  const filled = total === 0 ? BAR_WIDTH : Math.round((done / total) * BAR_WIDTH);
  return `[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${String(done)}/${String(total)}`;
}

async function waitIndexed(ctx: CommandContext, doc: RagDocument): Promise<RagDocument> {
  const deadline = Date.now() + POLL_LIMIT_MS;
  let current = doc;
  while (current.state === "pending" || current.state === "indexing") {
    if (Date.now() > deadline)
      throw new ApiError(`${doc.id}: still ${current.state} after ${String(POLL_LIMIT_MS / 1000)} s`);
    await new Promise((r) => setTimeout(r, POLL_MS));
    current = await request(ctx.session, `/api/v1/rag/documents/${encodeURIComponent(doc.id)}`, RagDocument);
  }
  return current;
}

/** The upload of one file, validated here first so a bad file is named before anything is sent. */
function inputOf(ctx: CommandContext, file: string, text: string, root: string) {
  const parsed = RagDocumentInput.safeParse({
    collection: collectionOption(ctx),
    title: titleOf(file, text),
    source: relative(root, resolve(file)) || basename(file),
    tags: listOption(ctx, "tags"),
    contentType: extname(file).toLowerCase() === ".txt" ? "text/plain" : "text/markdown",
    text,
  });
  if (!parsed.success)
    throw new ApiError(`${file}: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
  return parsed.data;
}

async function ingest(ctx: CommandContext): Promise<void> {
  if (ctx.args.length === 0) throw new ApiError("rag ingest needs files or folders");
  const files = (await Promise.all(ctx.args.map(filesUnder))).flat();
  const root = process.cwd();
  const results: RagDocument[] = [];
  let unchangedDocuments = 0;
  const interactive = !ctx.json && process.stderr.isTTY;
  for (const [i, file] of files.entries()) {
    const text = await readFile(file, "utf8");
    const { status, body } = await requestWithStatus(
      ctx.session,
      "/api/v1/rag/documents",
      RagDocument,
      inputOf(ctx, file, text, root),
    );
    // 200: the same text and metadata were indexed already; nothing was done.
    if (status === 200) unchangedDocuments++;
    const done = status === 200 ? body : await waitIndexed(ctx, body);
    if (status !== 200) results.push(done);
    const state = status === 200 ? "same" : done.state;
    const line = `${bar(i + 1, files.length)} ${state.padEnd(8)} ${String(done.chunks).padStart(4)} chunks  ${file}`;
    if (interactive) process.stderr.write(`\r${line.slice(0, (process.stderr.columns || 100) - 1)}\x1b[K`);
    else if (!ctx.json) ctx.out(line);
  }
  if (interactive) process.stderr.write("\n");
  const failed = results.filter((d) => d.state === "failed");
  if (ctx.json) ctx.out(JSON.stringify({ documents: results }, null, 2));
  else
    ctx.out(
      `${String(results.length)} documents indexed, ${String(results.reduce((n, d) => n + d.chunks, 0))} chunks` +
        ` (${String(results.reduce((n, d) => n + d.embeddedChunks, 0))} embedded, ${String(results.reduce((n, d) => n + d.unchangedChunks, 0))} unchanged);` +
        ` ${String(unchangedDocuments)} documents unchanged`,
    );
  if (failed.length > 0)
    throw new ApiError(`not indexed: ${failed.map((d) => `${d.id} (${d.error ?? "failed"})`).join(", ")}`);
}

async function query(ctx: CommandContext): Promise<void> {
  const text = ctx.args.join(" ");
  if (text === "") throw new ApiError('rag query needs the question: x0ctl rag query "what fixed packet loss?"');
  const mode = RagMode.safeParse(ctx.options.mode ?? "hybrid");
  if (!mode.success) throw new ApiError(`--mode must be hybrid, vector or lexical`);
  const collections = z.array(RagCollection).safeParse(listOption(ctx, "collection"));
  if (!collections.success)
    throw new ApiError(`--collection takes ${RagCollection.options.join(", ")} (comma-separated)`);
  const tags = listOption(ctx, "tag");
  const filter = {
    ...(collections.data.length > 0 ? { collections: collections.data } : {}),
    ...(tags.length > 0 ? { tags } : {}),
  };
  const answer = await request(ctx.session, "/api/v1/rag/query", RagAnswer, {
    query: text.slice(0, ragLimits.queryChars),
    k: ctx.options.k === undefined ? 5 : Number(ctx.options.k),
    mode: mode.data,
    ...(Object.keys(filter).length > 0 ? { filter } : {}),
  });
  if (ctx.json) {
    ctx.out(JSON.stringify(answer, null, 2));
    return;
  }
  ctx.out(
    `${answer.mode}${answer.note ? ` (${answer.note})` : ""}, ${String(answer.hits.length)} hits in ${String(answer.tookMs)} ms\n`,
  );
  answer.hits.forEach((hit, i) => {
    const parts = [
      hit.vector && `vector #${String(hit.vector.rank)}`,
      hit.lexical && `bm25 #${String(hit.lexical.rank)}`,
    ].filter(Boolean);
    ctx.out(`[${String(i + 1)}] ${hit.title}  (${hit.source ?? hit.documentId}; ${parts.join(", ")})`);
    ctx.out(`    ${hit.snippet.replace(/\s+/g, " ").trim()}\n`);
  });
}

async function remove(ctx: CommandContext): Promise<void> {
  if (ctx.args.length === 0) throw new ApiError("rag rm needs document ids (x0ctl rag ls lists them)");
  for (const id of ctx.args) {
    await request(ctx.session, `/api/v1/rag/documents/${encodeURIComponent(id)}`, z.undefined(), undefined, "DELETE");
    ctx.out(`deleted ${id}`);
  }
}

async function list(ctx: CommandContext): Promise<void> {
  const collection =
    typeof ctx.options.collection === "string" ? `?collection=${encodeURIComponent(ctx.options.collection)}` : "";
  const { documents } = await request(ctx.session, `/api/v1/rag/documents${collection}`, RagDocumentList);
  if (ctx.json) {
    ctx.out(JSON.stringify({ documents }, null, 2));
    return;
  }
  ctx.out(
    renderTable(
      ["ID", "COLLECTION", "STATE", "CHUNKS", "TITLE", "SOURCE"],
      documents.map((d) => [d.id, d.collection, d.state, String(d.chunks), d.title, d.source ?? ""]),
    ),
  );
}

/** Loads the folder through transformers.js and embeds a probe: what the stack would do with it. */
async function modelCheck(ctx: CommandContext): Promise<void> {
  const [dir] = ctx.args;
  if (dir === undefined || ctx.args.length > 1) throw new ApiError("rag model check needs one folder");
  const folder = await checkModelFolder(resolve(dir));
  if (folder.problems.length > 0) throw new ApiError(`${dir} is not usable:\n  ${folder.problems.join("\n  ")}`);
  const embedder = await loadEmbedder(dir).catch((error: unknown) => {
    throw new ApiError(`${dir}: transformers.js cannot load it: ${errorText(error)}`);
  });
  const [vector] = await embedder.embed(["the mesh link is degraded"]);
  const norm = Math.sqrt(vector?.reduce((s, v) => s + v * v, 0) ?? 0);
  ctx.out(
    `${dir} is usable: ${folder.onnxFile ?? ""} (${folder.quantized ? "quantized" : "float"}), ` +
      `${String(vector?.length ?? 0)} dimensions, norm ${norm.toFixed(3)}`,
  );
}

async function modelTiny(ctx: CommandContext): Promise<void> {
  const [dir] = ctx.args;
  if (dir === undefined || ctx.args.length > 1) throw new ApiError("rag model tiny needs one folder");
  const { vocabularySize } = await writeTinyModel(resolve(dir));
  ctx.out(
    `Wrote a tiny BERT-format model (${String(vocabularySize)} tokens) to ${dir}: for trying the pipeline ` +
      `offline (its vectors are a seeded bag of words, not all-MiniLM-L6-v2's meaning). npm start -- --rag-model ${dir}`,
  );
}

export const RAG_COMMANDS: Record<string, Command> = {
  "rag ingest": {
    args: "FILES|DIRS",
    summary: "[--collection runbooks|incidents] [--tags a,b]: index .md/.txt files, with progress",
    run: ingest,
  },
  "rag query": {
    args: "TEXT",
    summary: "[--k N] [--mode hybrid|vector|lexical] [--collection C] [--tag T]: search, with sources",
    run: query,
  },
  "rag ls": { summary: "[--collection C]: list documents and their indexing state", run: list },
  "rag rm": { args: "IDS", summary: "delete documents, their chunks and vectors", run: remove },
  "rag model check": {
    args: "DIR",
    summary: "is DIR a usable local embedding model (loads and embeds a probe)",
    run: modelCheck,
  },
  "rag model tiny": { args: "DIR", summary: "write a tiny test model to DIR (no download needed)", run: modelTiny },
};
