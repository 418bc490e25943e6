import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RagAnswer, RagDocumentList } from "../../protocol/index.js";
import { runCliAgainst, startControlPlane, type ControlPlane } from "../helpers/control-plane.js";

let cp: ControlPlane;
let docs: string;
beforeAll(async () => {
  cp = await startControlPlane();
  docs = await mkdtemp(join(tmpdir(), "x0-rag-docs-"));
  await mkdir(join(docs, "sub"));
  await writeFile(join(docs, "dhcp.md"), "# DHCP outage\n\nWhen the gateway's DHCP server stops, restart it.");
  await writeFile(join(docs, "sub", "antenna.txt"), "Antenna alignment: a misaligned antenna lowers TQ.");
  await writeFile(join(docs, "image.png"), "not text");
});
afterAll(() => cp.dispose());

const run = (...argv: string[]) => runCliAgainst(cp, ...argv);

describe("x0ctl rag against the real control plane (no embedder: lexical)", () => {
  it("ingests a folder's Markdown and text files, then finds, lists and removes them", async () => {
    const ingested = await run("rag", "ingest", docs, "--tags", "site-a");
    expect(ingested).toMatchObject({ code: 0, err: "" });
    expect(ingested.out).toContain("2 documents indexed, 2 chunks (0 embedded, 0 unchanged); 0 documents unchanged");
    const answer = RagAnswer.parse(JSON.parse((await run("rag", "query", "dhcp", "server", "--json")).out));
    expect(answer).toMatchObject({ mode: "lexical", requestedMode: "hybrid" });
    expect(answer.hits[0]).toMatchObject({ title: "DHCP outage" });
    const printed = await run("rag", "query", "antenna", "--tag", "site-a");
    expect(printed.out).toMatch(/^lexical \(no embedder is configured/);
    expect(printed.out).toContain("antenna");
    const { documents } = RagDocumentList.parse(JSON.parse((await run("rag", "ls", "--json")).out));
    expect(documents.map((d) => d.title).sort()).toEqual(["DHCP outage", "antenna"]);
    const removed = await run("rag", "rm", ...documents.map((d) => d.id));
    expect(removed.out.split("\n")).toHaveLength(2);
    expect(JSON.parse((await run("rag", "query", "dhcp", "--json")).out)).toMatchObject({ hits: [] });
  });

  it("names what is wrong: no files, no question, a bad mode or collection, an unknown document", async () => {
    expect((await run("rag", "ingest")).err).toMatch(/needs files or folders/);
    expect((await run("rag", "query")).err).toMatch(/needs the question/);
    expect((await run("rag", "query", "x", "--mode", "semantic")).err).toMatch(/--mode must be/);
    expect((await run("rag", "query", "x", "--collection", "recipes")).err).toMatch(
      /--collection takes runbooks, incidents, decisions/,
    );
    expect((await run("rag", "rm", "nope")).err).toMatch(/HTTP 404/);
    expect(await run("nodes", "extra")).toMatchObject({
      code: 2,
      err: expect.stringMatching(/takes no arguments/) as string,
    });
  });

  it("writes a tiny model that model check finds usable, and says why a folder is not", async () => {
    const dir = join(docs, "tiny");
    expect((await run("rag", "model", "tiny", dir)).code).toBe(0);
    const check = await run("rag", "model", "check", dir);
    expect(check).toMatchObject({ code: 0 });
    expect(check.out).toMatch(/is usable: .*model\.onnx \(float\), 384 dimensions, norm 1\.000/);
    const bad = await run("rag", "model", "check", docs);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/is not usable:[\s\S]*config\.json/);
  });
});
