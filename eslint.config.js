// @ts-check
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  // The example package is linted as its own project (it has its own package.json and dependencies).
  { ignores: ["dist/", "examples/plugin-package/", "**/*.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ["*.js", "bin/*.js", "test/faults/*.mjs"] }, tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    rules: {
      // `K extends keyof Services & string` is how a service name is typed; Services grows by declaration merging.
      "@typescript-eslint/no-redundant-type-constituents": "off",
    },
  },
  { files: ["**/*.js", "**/*.mjs"], ...tseslint.configs.disableTypeChecked, languageOptions: { globals: globals.node } },
  {
    // Tests poke at parsed JSON and stand-in objects, and pass methods to expect().
    files: ["**/*.test.ts", "test/**"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/unbound-method": "off",
      "@typescript-eslint/require-await": "off",
    },
  },
);
