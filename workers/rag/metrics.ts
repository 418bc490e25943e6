import { sql } from "drizzle-orm";
import type { RagMode } from "../../protocol/index.js";
import type { Database } from "../db/client.js";
import { ragDocuments, ragShards } from "../db/schema.js";
import type { MetricFamily, Sample } from "../metrics/exposition.js";

/** Query latency buckets in seconds: a lexical query takes milliseconds, an embedded one more. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

/**
 * RAG queries answered by this isolate, by the mode that ran, with their latency: in memory, as
 * the request counter (an isolate starts from zero when recycled; `rate()` handles resets).
 */
export class QueryStats {
  private readonly byMode = new Map<RagMode, Histogram>();

  observe(mode: RagMode, seconds: number): void {
    const h = this.byMode.get(mode) ?? { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) h.counts[i] = (h.counts[i] ?? 0) + 1;
    });
    h.sum += seconds;
    h.count++;
    this.byMode.set(mode, h);
  }

  families(): MetricFamily[] {
    const samples: Sample[] = [];
    for (const [mode, h] of this.byMode) {
      BUCKETS.forEach((le, i) =>
        samples.push({ suffix: "_bucket", labels: { mode, le: String(le) }, value: h.counts[i] ?? 0 }),
      );
      samples.push({ suffix: "_bucket", labels: { mode, le: "+Inf" }, value: h.count });
      samples.push({ suffix: "_sum", labels: { mode }, value: h.sum });
      samples.push({ suffix: "_count", labels: { mode }, value: h.count });
    }
    return [
      {
        name: "x0_rag_query_duration_seconds",
        type: "histogram",
        help: "RAG queries this isolate answered, by the mode that ran, and how long they took",
        samples,
      },
    ];
  }
}

export const queryStats = new QueryStats();

const STATES = ["pending", "indexing", "ready", "failed"] as const;

/** What D1 holds of RAG: documents by collection and state, chunks left to embed, vectors per collection. */
export async function ragFamilies(db: Database): Promise<MetricFamily[]> {
  const [documents, vectors] = await Promise.all([
    db
      .select({
        collection: ragDocuments.collection,
        state: ragDocuments.state,
        n: sql<number>`count(*)`,
        waiting: sql<number>`coalesce(sum(${ragDocuments.chunks} - ${ragDocuments.embeddedChunks} - ${ragDocuments.unchangedChunks}), 0)`,
      })
      .from(ragDocuments)
      .groupBy(ragDocuments.collection, ragDocuments.state),
    db
      .select({
        collection: ragShards.collection,
        n: sql<number>`coalesce(sum(${ragShards.vectors}), 0)`,
        shards: sql<number>`count(*)`,
      })
      .from(ragShards)
      .groupBy(ragShards.collection),
  ]);
  const collections = ["runbooks", "incidents", "decisions"];
  return [
    {
      name: "x0_rag_documents",
      type: "gauge",
      help: "RAG documents by collection and indexing state",
      samples: collections.flatMap((collection) =>
        STATES.map((state) => ({
          labels: { collection, state },
          value: documents.find((d) => d.collection === collection && d.state === state)?.n ?? 0,
        })),
      ),
    },
    {
      name: "x0_rag_ingest_chunks_waiting",
      type: "gauge",
      help: "Chunks of documents being indexed that are not embedded yet (ingest progress)",
      samples: [
        {
          value: documents
            .filter((d) => d.state === "pending" || d.state === "indexing")
            .reduce((n, d) => n + Math.max(0, d.waiting), 0),
        },
      ],
    },
    {
      name: "x0_rag_index_vectors",
      type: "gauge",
      help: "Vectors in the HNSW index, by collection (all its Durable Object shards)",
      samples: collections.map((collection) => ({
        labels: { collection },
        value: vectors.find((v) => v.collection === collection)?.n ?? 0,
      })),
    },
    {
      name: "x0_rag_index_shards",
      type: "gauge",
      help: "Durable Object shards of the HNSW index, by collection",
      samples: collections.map((collection) => ({
        labels: { collection },
        value: vectors.find((v) => v.collection === collection)?.shards ?? 0,
      })),
    },
  ];
}
