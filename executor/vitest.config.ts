import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "executor",
    root: import.meta.dirname,
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
  },
});
