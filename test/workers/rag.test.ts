import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { Problem, RagAnswer, RagDocument, decodeVector, type RagDocumentInput } from "../../protocol/index.js";
import { acceptDocument, resumeStalledDocuments, STALLED_AFTER_MS } from "../../workers/rag/ingest.js";
import { openRag } from "../../workers/rag/open.js";
import { retiredChunks } from "../../workers/rag/store.js";
import { answerQuery } from "../../workers/rag/query.js";
import type { FinishedSpan } from "../../workers/tracing/span.js";
import { Tracer } from "../../workers/tracing/tracer.js";
import { exactly } from "../helpers/contract.js";
import { fetchWorker, get, postJson } from "./client.js";
import { adminToken, attestOk, bearer, generateNodeKey, joinToken } from "./identity-client.js";

let auth: Record<string, string>;
beforeAll(async () => {
  auth = bearer(await adminToken());
});

const upload = async (doc: RagDocumentInput) => {
  const response = await postJson("/api/v1/rag/documents", doc, auth);
  return { status: response.status, body: await response.json<unknown>() };
};
const query = async (body: unknown) => {
  const response = await postJson("/api/v1/rag/query", body, auth);
  return { status: response.status, body: await response.json<unknown>() };
};
const answer = async (body: unknown) => {
  const { status, body: json } = await query(body);
  expect(status).toBe(200);
  return exactly(RagAnswer, json);
};

const paragraph = (topic: string, n: number) =>
  Array.from(
    { length: n },
    (_, i) => `Step ${String(i + 1)} for the ${topic}: check the link and the hop penalty.`,
  ).join(" ");

const RUNBOOK = `# Degraded link

When a mesh link shows packet loss above 10 percent, reroute around it: raise the hop penalty
toward that neighbour. Check the TQ afterwards.

## Flood

When one source floods the mesh, isolate the source through XDP for a short time.`;

describe("RAG documents and queries", () => {
  it("indexes a runbook and finds it by meaning and by words, citing its source", async () => {
    const { status, body } = await upload({
      title: "Degraded link runbook",
      source: "runbooks/degraded.md",
      text: RUNBOOK,
      tags: ["links"],
    });
    expect(status).toBe(201);
    const doc = exactly(RagDocument, body);
    expect(doc).toMatchObject({
      state: "ready",
      indexedFor: "hybrid",
      collection: "runbooks",
      embeddedChunks: doc.chunks,
    });
    const result = await answer({ query: "packet loss on a link: what fixed it?", k: 3 });
    expect(result.mode).toBe("hybrid");
    const hit = result.hits.find((h) => h.documentId === doc.id);
    expect(hit).toMatchObject({ title: "Degraded link runbook", source: "runbooks/degraded.md" });
    expect(hit?.vector?.rank).toBeGreaterThan(0);
    expect(hit?.lexical?.rank).toBeGreaterThan(0);
    expect(hit?.snippet).toContain("**");
  });

  it("treats an unchanged re-upload as a no-op and re-embeds only the changed chunks", async () => {
    const text = [paragraph("gateway", 60), paragraph("radio", 60), paragraph("antenna", 60)].join("\n\n");
    const first = exactly(RagDocument, (await upload({ id: "long-runbook", title: "Long", text })).body);
    expect(first.chunks).toBeGreaterThan(2);
    const again = await upload({ id: "long-runbook", title: "Long", text });
    expect(again.status).toBe(200);
    const changed = text.replace("Step 1 for the gateway", "Step 1 for the solar panel");
    const second = exactly(RagDocument, (await upload({ id: "long-runbook", title: "Long", text: changed })).body);
    expect(second.state).toBe("ready");
    expect(second.unchangedChunks).toBeGreaterThan(0);
    expect(second.embeddedChunks).toBe(second.chunks - second.unchangedChunks);
    const old = await answer({
      query: "Step 1 for the gateway",
      mode: "lexical",
      k: 50,
      filter: { documentIds: ["long-runbook"] },
    });
    expect(old.hits.every((h) => h.text.includes("solar panel") || !h.text.includes("Step 1 for the gateway"))).toBe(
      true,
    );
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM rag_chunks WHERE document_id = 'long-runbook'").first<{
      n: number;
    }>();
    expect(rows?.n).toBe(second.chunks);
  });

  it("never returns a deleted document again, by either retriever", async () => {
    await upload({
      id: "to-delete",
      title: "Bufferbloat",
      text: "Bufferbloat on the uplink queue: lower the queue length.",
    });
    expect((await answer({ query: "bufferbloat queue" })).hits.some((h) => h.documentId === "to-delete")).toBe(true);
    const response = await fetchWorker("/api/v1/rag/documents/to-delete", { method: "DELETE", headers: auth });
    expect(response.status).toBe(204);
    for (const mode of ["hybrid", "vector", "lexical"])
      expect(
        (await answer({ query: "bufferbloat queue", mode, k: 50 })).hits.some((h) => h.documentId === "to-delete"),
      ).toBe(false);
    expect((await get("/api/v1/rag/documents/to-delete", auth)).status).toBe(404);
    const stub = env.RAG_INDEX?.getByName("runbooks/0");
    const vectors = await stub?.stats();
    expect(vectors?.vectors).toBeGreaterThan(0);
  });

  it("filters by tag, node and collection", async () => {
    await upload({
      id: "tagged",
      title: "Certificate renewal",
      text: "Renew the expired certificate.",
      tags: ["pki"],
      nodeIds: ["node-7"],
    });
    await upload({ id: "untagged", title: "Certificate notes", text: "An expired certificate must be renewed." });
    const byTag = await answer({ query: "expired certificate", filter: { tags: ["pki"] } });
    expect(byTag.hits.map((h) => h.documentId)).toEqual(["tagged"]);
    const byNode = await answer({ query: "expired certificate", mode: "vector", filter: { nodeIds: ["node-7"] } });
    expect(byNode.hits.map((h) => h.documentId)).toEqual(["tagged"]);
    const noIncidents = await answer({ query: "expired certificate", filter: { collections: ["incidents"] } });
    expect(noIncidents.hits).toEqual([]);
  });

  it("answers the same search from URL parameters (GET), which a session cookie may read", async () => {
    const byGet = exactly(
      RagAnswer,
      await (await get("/api/v1/rag/query?query=expired%20certificate&k=2&collections=runbooks", auth)).json(),
    );
    const byPost = await answer({ query: "expired certificate", k: 2, filter: { collections: ["runbooks"] } });
    expect(byGet.hits.map((h) => h.chunkId)).toEqual(byPost.hits.map((h) => h.chunkId));
    for (const bad of ["", "?query=", "?query=x&collections=recipes", "?query=x&k=0", "?query=x&colour=red"])
      expect((await get(`/api/v1/rag/query${bad}`, auth)).status, bad).toBe(400);
  });

  it("passes hostile text to FTS5 as terms only", async () => {
    for (const hostile of [
      '"',
      "NEAR(",
      "*",
      "-certificate",
      "AND OR NOT",
      "title:x",
      "a\"b'c",
      "^certificate*",
      "(((",
    ]) {
      const result = await answer({ query: hostile, mode: "lexical" });
      expect(result.mode).toBe("lexical");
    }
  });

  it("resumes a document whose indexing an isolate left half-way (the cron trigger)", async () => {
    const deps = openRag(env);
    const { row } = await acceptDocument(deps, {
      collection: "incidents",
      id: "stalled",
      title: "DHCP outage",
      tags: [],
      nodeIds: [],
      contentType: "text/plain",
      text: "The DHCP server on the gateway stopped.",
    });
    expect(row.state).toBe("pending");
    expect(await resumeStalledDocuments(deps)).toBe(0); // not stalled yet
    const later = { ...deps, now: () => Date.now() + STALLED_AFTER_MS + 1 };
    expect(await resumeStalledDocuments(later)).toBe(1);
    const done = exactly(RagDocument, await (await get("/api/v1/rag/documents/stalled", auth)).json());
    expect(done).toMatchObject({ state: "ready", collection: "incidents" });
    expect((await answer({ query: "dhcp server", filter: { collections: ["incidents"] } })).hits[0]?.documentId).toBe(
      "stalled",
    );
  });

  it("gets the Node embedder's own vectors through the service binding, bit for bit", async () => {
    const reference = JSON.parse(env.TEST_EMBED_REFERENCE) as { text: string; vector: string };
    const [viaBinding] = await openRag(env).embedder!.embed([reference.text]);
    expect(viaBinding).toEqual(decodeVector(reference.vector));
  });

  it("traces a query: embed, vector search, lexical search and fusion under the request's span", async () => {
    const finished: FinishedSpan[] = [];
    const tracer = new Tracer(1, {
      export: (spans) => {
        finished.push(...spans);
        return Promise.resolve();
      },
    });
    const request = tracer.startSpan("request");
    await answerQuery(
      openRag(env),
      { query: "expired certificate", k: 3, mode: "hybrid" },
      { tracer, parent: request },
    );
    request.end();
    await tracer.flush();
    const names = finished.filter((s) => s.parentSpanId === request.context.spanId).map((s) => s.name);
    expect(names.sort()).toEqual(["rag.embed", "rag.fusion", "rag.lexical_search", "rag.vector_search"]);
  });

  it("retires removed and abandoned chunks, never those of a newer upload still being indexed", async () => {
    const rows: [string, number, number | null][] = [
      ["live", 1, null],
      ["removed", 1, 1],
      ["abandoned", 2, null],
      ["newer", 3, null],
    ];
    await env.DB.batch(
      rows.map(([id, added, removed]) =>
        env.DB.prepare(
          "INSERT INTO rag_chunks (id, document_id, collection, ordinal, text, tokens, added_gen, removed_gen) VALUES (?, 'gens', 'runbooks', 0, ?, 1, ?, ?)",
        ).bind(`gen-${id}`, id, added, removed),
      ),
    );
    const ids = async (pending: number | null) =>
      (await retiredChunks(openRag(env).db, "gens", 1, pending)).map((c) => c.id).sort();
    expect(await ids(3)).toEqual(["gen-abandoned", "gen-removed"]);
    expect(await ids(null)).toEqual(["gen-abandoned", "gen-newer", "gen-removed"]);
  });

  it("says so when no embedder is configured, and answers lexically", async () => {
    const deps = { ...openRag(env), embedder: undefined };
    const result = await answerQuery(deps, { query: "expired certificate", k: 5, mode: "hybrid" });
    expect(result).toMatchObject({ mode: "lexical", requestedMode: "hybrid" });
    expect(result.note).toMatch(/no embedder/);
    expect(result.hits.length).toBeGreaterThan(0);
  });

  it("indexes a large document in the background: 202, a Location, progress, then ready", async () => {
    const text = Array.from({ length: 40 }, (_, i) => `## Part ${String(i)}\n\n${paragraph("gateway radio", 25)}`).join(
      "\n\n",
    );
    expect(new TextEncoder().encode(text).length).toBeGreaterThan(32 * 1024);
    const response = await postJson("/api/v1/rag/documents", { id: "big", title: "Big runbook", text }, auth);
    expect(response.status).toBe(202);
    expect(response.headers.get("location")).toBe("/api/v1/rag/documents/big");
    const accepted = exactly(RagDocument, await response.json());
    expect(accepted.state).toBe("pending");
    let doc = accepted;
    for (let polls = 0; polls < 500 && doc.state !== "ready" && doc.state !== "failed"; polls++)
      doc = exactly(RagDocument, await (await get("/api/v1/rag/documents/big", auth)).json());
    expect(doc).toMatchObject({ state: "ready", indexedFor: "hybrid" });
    expect(doc.embeddedChunks).toBe(doc.chunks);
    expect(doc.chunks).toBeGreaterThan(10);
  });

  it("lets any identity read and only admins write", async () => {
    const admin = await adminToken();
    const node = await attestOk(await generateNodeKey(), { joinToken: await joinToken(admin, "rag-reader") });
    const asNode = bearer(node.jwtSvid.token);
    expect((await postJson("/api/v1/rag/query", { query: "certificate" }, asNode)).status).toBe(200);
    expect((await get("/api/v1/rag/documents", asNode)).status).toBe(200);
    expect((await postJson("/api/v1/rag/documents", { title: "x", text: "x" }, asNode)).status).toBe(403);
    expect((await fetchWorker("/api/v1/rag/documents/tagged", { method: "DELETE", headers: asNode })).status).toBe(403);
    expect((await postJson("/api/v1/rag/query", { query: "certificate" })).status).toBe(401);
  });

  it("refuses bad queries and uploads with problem+json and stores nothing", async () => {
    const bad: unknown[] = [
      { query: "" },
      { query: "x".repeat(1001) },
      { query: "x", k: 0 },
      { query: "x", k: 51 },
      { query: "x", mode: "semantic" },
      { query: "x", filter: { colour: "red" } },
      { query: "x", filter: { collections: ["recipes"] } },
    ];
    for (const body of bad) {
      const { status, body: problem } = await query(body);
      expect(status, JSON.stringify(body)).toBe(400);
      expect(Problem.parse(problem).type).toBe("urn:x0tta6bl4:problem:validation");
    }
    const before = await env.DB.prepare("SELECT count(*) AS n FROM rag_documents").first<{ n: number }>();
    for (const doc of [
      { title: "x", text: "" },
      { title: "", text: "x" },
      { title: "x", text: "x", collection: "decisions" },
      { title: "x", text: "x", contentType: "application/pdf" },
      { title: "x", text: "é".repeat(400_000) },
    ])
      expect((await postJson("/api/v1/rag/documents", doc, auth)).status).toBe(400);
    expect((await postJson("/api/v1/rag/documents", "{not json", auth)).status).toBe(400);
    const after = await env.DB.prepare("SELECT count(*) AS n FROM rag_documents").first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
  });
});
