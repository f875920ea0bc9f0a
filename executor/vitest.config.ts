import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "executor",
    maxWorkers: 2, // see ../vitest.config.ts
    root: import.meta.dirname,
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
  },
});
