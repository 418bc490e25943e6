import { basename, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The repository (or installed package) root: this module sits in node-firmware/lib/, from
 * source, or in dist/node-firmware/lib/ once built. (Walking up to a package.json would stop at
 * the copy tsc emits into dist/.)
 */
export function packageRoot(): string {
  const firmware = dirname(dirname(fileURLToPath(import.meta.url)));
  return basename(dirname(firmware)) === "dist" ? resolve(firmware, "..", "..") : resolve(firmware, "..");
}
