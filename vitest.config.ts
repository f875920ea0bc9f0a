import { defineConfig } from "vitest/config";

// One config per runtime: workerd for the Worker and workflows, Node for the executor, the ops CLI
// and the end-to-end suite that drives the real stack as processes.
//
// Each project runs two test files at a time (`maxWorkers: 2` in each; vitest reads it per project and
// wants it equal across them), whatever the core count: vitest's default, cores − 1, is one file at a
// time on a 2-core CI machine. The end-to-end files spend most of their time waiting on processes they
// started (an outage of 90 s, a stack booting), so a second file overlaps that wait: 13.5 → 8.5 min on
// this 2-core machine. Every suite picks its own free ports and users, so two never meet.
export default defineConfig({
  test: {
    projects: ["./vitest.workers.config.ts", "./executor/vitest.config.ts", "./vitest.node.config.ts"],
    reporters: ["default", "./scripts/summary-reporter.ts"],
  },
});
