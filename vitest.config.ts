import { defineConfig } from "vitest/config";

// One config per runtime: workerd for the Worker and workflows, Node for the executor, the ops CLI
// and the end-to-end suite that drives the real stack as processes.
export default defineConfig({
  test: {
    projects: ["./vitest.workers.config.ts", "./executor/vitest.config.ts", "./vitest.node.config.ts"],
    reporters: ["default", "./scripts/summary-reporter.ts"],
  },
});
