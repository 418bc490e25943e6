// Node has WebAssembly at run time, but its typings leave the JS API to lib.dom. The vector
// index's kernel loader (workers/rag/vector/codes.ts) uses this part of it in Node code too
// (the benchmark, tests); the Worker's typings have the whole API.
declare namespace WebAssembly {
  // Declares the runtime's class; a compiled module has no members of its own.
  // eslint-disable-next-line @typescript-eslint/no-extraneous-class
  class Module {
    constructor(bytes: BufferSource);
  }
  class Memory {
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
}
