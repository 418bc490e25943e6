import { DurableObject } from "cloudflare:workers";
import { RAG_DIMENSIONS } from "../../../protocol/index.js";
import { Hnsw, type HnswNode } from "./hnsw.js";
import { HNSW_PARAMETERS } from "./parameters.js";
import { wasmCodeSpace } from "./codes.js";
// Workers compile WebAssembly only as a module import (wrangler's CompiledWasm rule for *.wasm).
import kernel from "./kernel.wasm";
import { dot } from "./quantize.js";
import type { ShardFilter, ShardStats, VectorItem, VectorMatch } from "./types.js";

/** Past this share of tombstones the graph is repaired (their slots relinked and freed). */
const REPAIR_SHARE = 0.2;
/** Candidates re-ranked with float vectors: enough to absorb int8's error at the top. */
const RERANK_MIN = 40;
/** SQLite in a Durable Object binds at most 100 parameters per statement. */
const MAX_BINDS = 100;

interface DocumentMeta {
  tags: readonly string[];
  nodeIds: readonly string[];
  decisionId: string | undefined;
}

const encodeLinks = (links: readonly Int32Array[]) => {
  const flat = new Int32Array(links.reduce((n, l) => n + 1 + l.length, 0));
  let at = 0;
  for (const level of links) {
    flat[at++] = level.length;
    flat.set(level, at);
    at += level.length;
  }
  return flat.buffer;
};

const decodeLinks = (buffer: ArrayBuffer) => {
  const flat = new Int32Array(buffer);
  const links: Int32Array[] = [];
  for (let at = 0; at < flat.length;) {
    const count = flat[at] ?? 0;
    links.push(flat.slice(at + 1, at + 1 + count));
    at += 1 + count;
  }
  return links;
};

const chunked = <T>(items: readonly T[], size: number) =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/**
 * One shard of a collection's vector index: the HNSW graph in memory (int8 codes, links), every
 * node and float vector in the Durable Object's SQLite, so an evicted shard comes back as it
 * was without rebuilding. Writes of one call commit together.
 */
export class RagIndexShard extends DurableObject<Record<string, never>> {
  private index: Hnsw;
  private chunkOf: string[] = [];
  private documentOf: string[] = [];
  private byChunk = new Map<string, number>();
  private documents = new Map<string, DocumentMeta>();

  constructor(ctx: DurableObjectState, env: Record<string, never>) {
    super(ctx, env);
    // SQLite storage reads are synchronous: the graph is whole before the first call can arrive.
    this.createTables();
    this.index = this.load();
  }

  /** Adds vectors; a chunk id already present is left as it is (ids are content hashes). */
  upsert(items: readonly VectorItem[]): { inserted: number; size: number } {
    let inserted = 0;
    this.ctx.storage.transactionSync(() => {
      for (const item of items) {
        if (this.byChunk.has(item.chunkId)) continue;
        if (item.vector.length !== RAG_DIMENSIONS)
          throw new RangeError(
            `vector of ${item.chunkId} has ${item.vector.length} dimensions, expected ${RAG_DIMENSIONS}`,
          );
        this.rememberDocument(item);
        const id = this.index.insert(item.vector);
        this.chunkOf[id] = item.chunkId;
        this.documentOf[id] = item.documentId;
        this.byChunk.set(item.chunkId, id);
        this.ctx.storage.sql.exec(
          "INSERT OR REPLACE INTO floats (id, vec) VALUES (?, ?)",
          id,
          item.vector.slice().buffer,
        );
        inserted++;
      }
      this.writeDirty();
    });
    return { inserted, size: this.index.size };
  }

  /** Deletes vectors by chunk id; they are never returned again. */
  remove(chunkIds: readonly string[]): { removed: number; size: number } {
    let removed = 0;
    this.ctx.storage.transactionSync(() => {
      for (const chunkId of chunkIds) {
        const id = this.byChunk.get(chunkId);
        if (id === undefined) continue;
        this.index.delete(id);
        this.byChunk.delete(chunkId);
        removed++;
      }
      if (this.index.deletedCount > Math.max(16, this.index.size * REPAIR_SHARE)) this.index.repair();
      this.writeDirty();
    });
    return { removed, size: this.index.size };
  }

  /** The k nearest chunks by inner product, re-ranked with the float vectors. */
  search(query: Float32Array, options: { k: number; ef: number; filter?: ShardFilter }): VectorMatch[] {
    const accept = this.acceptor(options.filter);
    const candidates = this.index.search(query, Math.max(options.ef, options.k), accept);
    const pool = candidates.slice(0, Math.max(RERANK_MIN, options.k * 4));
    const floats = this.floats(pool.map((c) => c.id));
    return pool
      .map((c) => {
        const vector = floats.get(c.id);
        return { chunkId: this.chunkOf[c.id] ?? "", similarity: vector ? dot(query, vector) : c.score };
      })
      .sort((a, b) => b.similarity - a.similarity)
      .slice(0, options.k);
  }

  stats(): ShardStats {
    return { vectors: this.index.size, tombstones: this.index.deletedCount, memoryBytes: this.index.memoryBytes };
  }

  private acceptor(filter: ShardFilter | undefined): ((id: number) => boolean) | undefined {
    if (!filter) return undefined;
    const documentIds = filter.documentIds ? new Set(filter.documentIds) : undefined;
    const accepted = new Set<string>();
    for (const [documentId, meta] of this.documents) {
      if (documentIds && !documentIds.has(documentId)) continue;
      if (filter.tags && !filter.tags.some((t) => meta.tags.includes(t))) continue;
      if (filter.nodeIds && !filter.nodeIds.some((n) => meta.nodeIds.includes(n))) continue;
      if (filter.decisionId !== undefined && meta.decisionId !== filter.decisionId) continue;
      accepted.add(documentId);
    }
    return (id) => accepted.has(this.documentOf[id] ?? "");
  }

  private rememberDocument(item: VectorItem): void {
    const meta: DocumentMeta = { tags: item.tags, nodeIds: item.nodeIds, decisionId: item.decisionId };
    this.documents.set(item.documentId, meta);
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO documents (id, meta) VALUES (?, ?)",
      item.documentId,
      JSON.stringify(meta),
    );
  }

  private floats(ids: readonly number[]): Map<number, Float32Array> {
    const found = new Map<number, Float32Array>();
    for (const group of chunked(ids, MAX_BINDS)) {
      const rows = this.ctx.storage.sql.exec<{ id: number; vec: ArrayBuffer }>(
        `SELECT id, vec FROM floats WHERE id IN (${group.map(() => "?").join(",")})`,
        ...group,
      );
      for (const row of rows) found.set(row.id, new Float32Array(row.vec));
    }
    return found;
  }

  private writeDirty(): void {
    const sql = this.ctx.storage.sql;
    for (const node of this.index.takeDirty()) {
      if (node.level < 0) {
        sql.exec("DELETE FROM nodes WHERE id = ?", node.id);
        sql.exec("DELETE FROM floats WHERE id = ?", node.id);
        continue;
      }
      sql.exec(
        "INSERT OR REPLACE INTO nodes (id, chunk_id, document_id, level, scale, codes, links, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        node.id,
        this.chunkOf[node.id] ?? "",
        this.documentOf[node.id] ?? "",
        node.level,
        node.scale,
        node.codes.buffer,
        encodeLinks(node.links),
        node.deleted ? 1 : 0,
      );
    }
  }

  private createTables(): void {
    this.ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS nodes (id INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL, document_id TEXT NOT NULL,
        level INTEGER NOT NULL, scale REAL NOT NULL, codes BLOB NOT NULL, links BLOB NOT NULL, deleted INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS floats (id INTEGER PRIMARY KEY, vec BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS documents (id TEXT PRIMARY KEY, meta TEXT NOT NULL);
    `);
  }

  private load(): Hnsw {
    const sql = this.ctx.storage.sql;
    for (const row of sql.exec<{ id: string; meta: string }>("SELECT id, meta FROM documents"))
      this.documents.set(row.id, JSON.parse(row.meta) as DocumentMeta);
    const nodes: HnswNode[] = [];
    const rows = sql.exec<{
      id: number;
      chunk_id: string;
      document_id: string;
      level: number;
      scale: number;
      codes: ArrayBuffer;
      links: ArrayBuffer;
      deleted: number;
    }>("SELECT id, chunk_id, document_id, level, scale, codes, links, deleted FROM nodes ORDER BY id");
    for (const row of rows) {
      nodes.push({
        id: row.id,
        level: row.level,
        scale: row.scale,
        codes: new Int8Array(row.codes),
        links: decodeLinks(row.links),
        deleted: row.deleted === 1,
      });
      this.chunkOf[row.id] = row.chunk_id;
      this.documentOf[row.id] = row.document_id;
      if (row.deleted === 0) this.byChunk.set(row.chunk_id, row.id);
    }
    return Hnsw.restore({ ...HNSW_PARAMETERS, codes: wasmCodeSpace(kernel) }, nodes);
  }
}
