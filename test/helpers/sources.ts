import { readdirSync } from "node:fs";
import { join } from "node:path";

/** Not the product's sources: the tests, declarations, and what is installed or built. */
const NOT_SOURCES = new Set(["test", "types", "node_modules", "dist"]);

/** Every TypeScript file of the product (not its tests), by path from the repository root. */
export function sourceFiles(): string[] {
  const folders = readdirSync(".", { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith(".") && !NOT_SOURCES.has(entry.name))
    .map((entry) => entry.name);
  return folders.flatMap((folder) =>
    readdirSync(folder, { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts"))
      .map((f) => join(folder, f)),
  );
}
