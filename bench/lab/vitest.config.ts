import { defineConfig } from "vitest/config";

/** The research tools' own tests, outside `npm test`: `npm run test:research`. */
export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/bench-lab/**/*.test.ts"],
    environment: "node",
  },
});
