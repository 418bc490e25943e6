export { bpftool, dumpMap } from "./bpftool.js";
export { XG_MAPS } from "./xdp-guard-layout.js";
export { XdpGuard } from "./xdp-guard.js";
