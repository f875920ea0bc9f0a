import { defineConfig } from "vitest/config";

// Node-side tests outside the executor package: repo checks, the ops CLI, the end-to-end suite.
export default defineConfig({
  test: {
    name: "node",
    maxWorkers: 2, // see ./vitest.config.ts
    include: ["test/node/**/*.test.ts", "test/e2e/**/*.test.ts", "cli/test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
