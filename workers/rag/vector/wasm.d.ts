/** A WebAssembly file imported as a module is compiled by the host (wrangler's CompiledWasm rule). */
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
