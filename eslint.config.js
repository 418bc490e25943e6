import security from "eslint-plugin-security";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".x0/", ".wrangler/", "migrations/", "bin/", "test/fixtures/"] },
  ...tseslint.configs.strictTypeChecked,
  security.configs.recommended,
  {
    languageOptions: {
      parserOptions: {
        project: ["./tsconfig.json", "./tsconfig.workers.json"],
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
    },
  },
  // The floor plan, enforced: test/lint/boundaries.test.ts shows a violation being refused.
  {
    files: ["protocol/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ regex: "^(?!zod$|\\./|\\.\\./spiffe/id\\.js$)", message: "protocol/ is the contract: it imports zod, its own modules and the SPIFFE ID grammar, nothing else." }] }],
    },
  },
  {
    files: ["spiffe/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ regex: "^\\.\\./(?!spiffe/)", message: "spiffe/ is a library: it never imports the product's folders." }] }],
    },
  },
  {
    files: ["workers/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ regex: "(^|/)(node-firmware|ctl|stack|lab|bench)/", message: "The control plane never imports the firmware or the tools: they meet in protocol/." }] }],
    },
  },
  {
    files: ["node-firmware/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ regex: "(^|/)(workers|ctl|stack|lab|bench)/", message: "The firmware never imports the control plane or the tools: they meet in protocol/." }] }],
    },
  },
  {
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unsafe-type-assertion": "off",
    },
  },
  {
    files: ["eslint.config.js"],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
