// Assembles the vector index's WebAssembly kernel (workers/rag/vector/kernel.wat → kernel.wasm).
// The binary is committed: the Worker imports it as a module, and Workers cannot compile
// WebAssembly at run time.
import { readFile, writeFile } from "node:fs/promises";
import wabtInit from "wabt";

export async function assembleKernel(watPath) {
  const wabt = await wabtInit();
  const parsed = wabt.parseWat(watPath, await readFile(watPath, "utf8"), { simd: true });
  parsed.validate();
  return Buffer.from(parsed.toBinary({ write_debug_names: false }).buffer);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const wat = new URL("../workers/rag/vector/kernel.wat", import.meta.url).pathname;
  await writeFile(wat.replace(/\.wat$/, ".wasm"), await assembleKernel(wat));
}
