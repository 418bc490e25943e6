import { readFile } from "node:fs/promises";
import wabtInit from "wabt";
import { describe, expect, it } from "vitest";
import { arrayCodeSpace, wasmCodeSpace } from "../../workers/rag/vector/codes.js";
import { Hnsw } from "../../workers/rag/vector/hnsw.js";
import { lowRankVectors } from "../../bench/vectors.js";
import { prng } from "../../node-firmware/mesh/simulated/prng.js";

const WAT = new URL("../../workers/rag/vector/kernel.wat", import.meta.url);
const WASM = new URL("../../workers/rag/vector/kernel.wasm", import.meta.url);
const kernel = new WebAssembly.Module(await readFile(WASM));

describe("the WebAssembly SIMD kernel", () => {
  it("is the committed source, assembled (npm run build:kernel)", async () => {
    const wabt = await wabtInit();
    const parsed = wabt.parseWat("kernel.wat", await readFile(WAT, "utf8"), { simd: true });
    expect(Buffer.from(parsed.toBinary({ write_debug_names: false }).buffer)).toEqual(await readFile(WASM));
  });

  it("gives the JS loop's integers, extremes included, after growing its memory", () => {
    const wasm = wasmCodeSpace(kernel);
    const js = arrayCodeSpace();
    const size = 200_000; // past the first 64 KiB page
    for (const space of [wasm, js]) space.reserve(size);
    const bytes = Int8Array.from({ length: size }, (_, i) =>
      i % 7 === 0 ? -128 : i % 11 === 0 ? 127 : ((i * 37) % 255) - 127,
    );
    wasm.bytes().set(bytes);
    js.bytes().set(bytes);
    for (const [a, b] of [
      [0, 384],
      [16, 160_000],
      [199_616, 0],
      [7 * 16, 9 * 16],
    ] as const)
      expect(wasm.dot(a, b, 384)).toBe(js.dot(a, b, 384));
    expect(wasm.dot(0, 0, 0)).toBe(0);
  });

  it("builds and searches the same graph as the JS loop", () => {
    const data = lowRankVectors(1500, 384, prng(5));
    const queries = lowRankVectors(30, 384, prng(6));
    const make = (codes: ReturnType<typeof arrayCodeSpace>) => {
      const index = new Hnsw({ dimensions: 384, m: 16, efConstruction: 100, random: prng(9), codes });
      for (const v of data) index.insert(v);
      return index;
    };
    const wasm = make(wasmCodeSpace(kernel));
    const js = make(arrayCodeSpace());
    for (const q of queries) expect(wasm.search(q, 50)).toEqual(js.search(q, 50));
  });
});
