// Type-aware lint (CONVENTIONS §13) and the layering (docs/architecture.md). Every rule turned off here says why.
import { builtinRules } from "eslint/use-at-your-own-risk";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import importX from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";
import layering from "./scripts/lint/layering.mjs";

// ESLint gives a rule one severity; the hard file budget is the same rule under a second name.
const budget = { rules: { "max-lines": builtinRules.get("max-lines") } };
const GENERATED = ["api/src/gen/**"];

export default tseslint.config(
  { ignores: ["**/node_modules/**", ...GENERATED, "**/*.mjs", "**/testdata/lint/**"] },
  { linterOptions: { reportUnusedDisableDirectives: "error" } },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "import-x": importX, causeway: layering, budget },
    settings: {
      // import-x follows only files of these extensions, parsed with the TypeScript parser (its default is .js alone).
      "import-x/extensions": [".ts"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: "tsconfig.json" })],
    },
    rules: {
      // node:test's describe/it return promises the runner awaits itself (also in shared contract suites).
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["describe", "it", "test", "before", "after", "beforeEach", "afterEach", "suite"] },
          ],
        },
      ],
      "@typescript-eslint/no-explicit-any": "error",
      // A default branch is exhaustive for foreign enums (gRPC status); our own unions end in `satisfies never`.
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // "modified": a switch counts once, so a flat mapping from a union (one case per member) is not "complex".
      complexity: ["error", { max: 15, variant: "modified" }],
      // Async functions without await implement async interfaces (fakes, adapters); the interface is the contract.
      "@typescript-eslint/require-await": "off",
      // The layering: allowed arrows between workspaces, entry points only, declared dependencies.
      "causeway/layering": ["error", { root: import.meta.dirname }],
      // No import cycles, within a workspace or across (type-only imports included: they still tie modules together).
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      // Files aim for ≤ 300 lines (a warning) and never pass 600 (an error); generated code is ignored above.
      "max-lines": ["warn", { max: 300, skipBlankLines: false, skipComments: false }],
      "budget/max-lines": ["error", { max: 600, skipBlankLines: false, skipComments: false }],
    },
  },
);
