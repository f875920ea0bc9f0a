#!/usr/bin/env node
// Node ≥ 22.18 runs the TypeScript source directly (type stripping); `npx vault` from the repo
// resolves node 22 from the repo's devDependencies.
const { run } = await import("../src/main.ts");
process.exitCode = await run(process.argv.slice(2));
