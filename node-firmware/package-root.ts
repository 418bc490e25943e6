import { basename, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The repository (or installed package) root: this module sits in node-firmware/, from source, or
 * in dist/node-firmware/ once built. (Walking up to a package.json would stop at the copy tsc
 * emits into dist/.)
 */
export function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return basename(dirname(here)) === "dist" ? resolve(here, "..", "..") : resolve(here, "..");
}
