#!/usr/bin/env node
// Node ≥ 22.18 runs the TypeScript source directly (type stripping); `npx vault` from the repo
// resolves node 22 from the repo's devDependencies.
// `vault tasks list | head -1` closes stdout early: that is the reader's choice, not an error.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});
const { run } = await import("../src/main.ts");
process.exitCode = await run(process.argv.slice(2));
