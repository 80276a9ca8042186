// Type-aware lint (CONVENTIONS §13). Every rule turned off here says why.
import tseslint from "typescript-eslint";

export default tseslint.config({ ignores: ["**/node_modules/**", "api/src/gen/**", "**/*.mjs"] }, ...tseslint.configs.recommendedTypeChecked, {
  languageOptions: {
    parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
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
  },
});
