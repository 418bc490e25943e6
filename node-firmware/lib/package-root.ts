import { basename, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Defined (true) only in the bundle `npm run build:firmware` makes. */
declare const __X0_BUNDLE__: boolean | undefined;

/**
 * The repository (or installed package) root: this module sits in node-firmware/lib/, from
 * source, or in dist/node-firmware/lib/ once built. (Walking up to a package.json would stop at
 * the copy tsc emits into dist/.)
 */
export function packageRoot(): string {
  // The shipped firmware is one bundle with bpf/ beside it (npm run build:firmware).
  if (typeof __X0_BUNDLE__ !== "undefined") return dirname(fileURLToPath(import.meta.url));
  const firmware = dirname(dirname(fileURLToPath(import.meta.url)));
  return basename(dirname(firmware)) === "dist" ? resolve(firmware, "..", "..") : resolve(firmware, "..");
}
