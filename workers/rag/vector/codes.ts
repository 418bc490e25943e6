/**
 * Where the index's int8 codes live and how two of them are multiplied: WebAssembly memory and a
 * SIMD kernel (kernel.wat) where it can be had, a plain ArrayBuffer and a JS loop elsewhere.
 * Both give the same integers; the kernel is about ten times faster.
 */
export interface CodeSpace {
  /** A view of all the bytes; take it again after `reserve`, which may move them. */
  bytes(): Int8Array;
  /** Makes room for at least `size` bytes, keeping what is there. */
  reserve(size: number): void;
  /** Σ a[i]·b[i] over `length` bytes at two offsets (`length` a multiple of 16). */
  dot(a: number, b: number, length: number): number;
}

/** The JS fallback: for tests that compare with the kernel, and hosts without WebAssembly SIMD. */
export function arrayCodeSpace(): CodeSpace {
  let view = new Int8Array(0);
  return {
    bytes: () => view,
    reserve: (size) => {
      if (size <= view.length) return;
      const next = new Int8Array(Math.max(size, view.length * 2));
      next.set(view);
      view = next;
    },
    dot: (a, b, length) => {
      let sum = 0;
      for (let i = 0; i < length; i++) sum += (view[a + i] ?? 0) * (view[b + i] ?? 0);
      return sum;
    },
  };
}

interface KernelExports {
  memory: WebAssembly.Memory;
  dot8: (a: number, b: number, length: number) => number;
}

const PAGE = 65_536;

/** The codes in the kernel's memory (kernel.wasm, compiled by the host: a module import in Workers). */
export function wasmCodeSpace(kernel: WebAssembly.Module): CodeSpace {
  const { memory, dot8 } = new WebAssembly.Instance(kernel).exports as unknown as KernelExports;
  let view = new Int8Array(memory.buffer);
  return {
    bytes: () => view,
    reserve: (size) => {
      if (size <= memory.buffer.byteLength) return;
      const pages = Math.ceil(Math.max(size, memory.buffer.byteLength * 2) / PAGE) - memory.buffer.byteLength / PAGE;
      memory.grow(pages);
      view = new Int8Array(memory.buffer);
    },
    dot: dot8,
  };
}
