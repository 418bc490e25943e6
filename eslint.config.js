import security from "eslint-plugin-security";
import tseslint from "typescript-eslint";

/** Imports from `folder` whose specifier matches `forbidden` are errors, with `why` as the message. */
const boundary = (folder, forbidden, why) => ({
  files: [`${folder}/**/*.ts`],
  rules: { "no-restricted-imports": ["error", { patterns: [{ regex: forbidden, message: why }] }] },
});

const TOOLS = ["ctl", "stack", "lab", "bench"];
/**
 * For a tool: an import into the firmware or the control plane other than a capability's
 * `<folder>/index.js`, or into a library or another tool other than its `index.js`.
 */
const publicEntriesOnly = (tool) => {
  const others = ["protocol", "spiffe", "otlp", "embedder", ...TOOLS.filter((t) => t !== tool)].join("|");
  return `(^|/)((node-firmware|workers)/(?![a-z-]+/index\\.js$)|(${others})/(?!index\\.js$))`;
};

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".x0/", ".wrangler/", "migrations/", "bin/", "test/fixtures/"] },
  ...tseslint.configs.strictTypeChecked,
  security.configs.recommended,
  {
    languageOptions: {
      parserOptions: {
        project: ["./tsconfig.json", "./tsconfig.workers.json", "./tsconfig.docs.json"],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Object keys here come from our own closed sets (schemas, enums), not from requests.
      "security/detect-object-injection": "off",
      // File paths come from the operator (CLI flags, config files); the Worker has no file system.
      "security/detect-non-literal-fs-filename": "off",
      // Prettier wraps code at 120 columns; comments are held to the same, strings and regular
      // expressions are not cut (a message split over lines is harder to grep for).
      "max-len": [
        "error",
        { code: 120, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true },
      ],
    },
  },
  // The floor plan, enforced: test/lint/boundaries.test.ts shows a violation being refused.
  boundary(
    "protocol",
    "^(?!zod$|\\./|\\.\\./spiffe/id\\.js$)",
    "protocol/ is the contract: it imports zod, its own modules and the SPIFFE ID grammar, nothing else.",
  ),
  boundary("spiffe", "^\\.\\./(?!spiffe/)", "spiffe/ is a library: it never imports the product's folders."),
  boundary(
    "embedder",
    "^\\.\\./(?!protocol/index\\.js$)",
    "embedder/ is the Node embedding service: it imports the contract (protocol/index.js), nothing else of ours.",
  ),
  boundary("otlp", "^(?!\\./)", "otlp/ is a library: it imports nothing, the product's folders least of all."),
  boundary(
    "workers",
    "(^|/)(node-firmware|embedder|ctl|stack|lab|bench)/",
    "The control plane never imports the firmware, the embedder or the tools: they meet in protocol/.",
  ),
  boundary(
    "node-firmware",
    "(^|/)(workers|ctl|stack|lab|bench)/",
    "The firmware never imports the control plane or the tools: they meet in protocol/.",
  ),
  ...TOOLS.map((tool) =>
    boundary(
      tool,
      publicEntriesOnly(tool),
      `${tool}/ is a tool: it imports the public entry points (an index.ts) of what it uses, not their internals.`,
    ),
  ),
  {
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unsafe-type-assertion": "off",
    },
  },
  {
    files: ["eslint.config.js", "scripts/**/*.mjs"],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
