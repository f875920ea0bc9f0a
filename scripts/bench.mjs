#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.ts (Node 22 strips the types), prints each figure, and
// writes bench/results.json and the table in BENCHMARKS.md. `npm run bench -- <filter>` runs a subset.
import { execFileSync } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const root = path.resolve(import.meta.dirname, "..");
process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
const filter = process.argv[2] ?? "";
const files = readdirSync(path.join(root, "bench"))
  .filter((f) => f.endsWith(".bench.ts") && f.includes(filter))
  .sort();

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, node ${process.version}`;
const reports = [];
let failedBenches = 0;
for (const file of files) {
  process.stdout.write(`\n▶ ${file}\n`);
  try {
    const mod = await import(pathToFileURL(path.join(root, "bench", file)).href);
    const report = await mod.run();
    reports.push({ file, ...report });
    process.stdout.write(`  ${report.title} (${report.runs})\n`);
    for (const f of report.figures) {
      const goal = f.goal ? `  goal ${f.goal} ${f.met === undefined ? "" : f.met ? "✓" : "✗"}` : "";
      process.stdout.write(
        `  ${f.name}: ${Number.isInteger(f.value) ? f.value : f.value.toFixed(3)} ${f.unit}${goal}\n`,
      );
    }
  } catch (err) {
    failedBenches += 1;
    process.stdout.write(`  FAILED: ${err instanceof Error ? err.stack : String(err)}\n`);
  }
}

const at = new Date().toISOString();
if (!filter) {
  writeFileSync(path.join(root, "bench", "results.json"), `${JSON.stringify({ at, machine, reports }, null, 2)}\n`);
  const rows = reports.flatMap((r) =>
    r.figures.map(
      (f) =>
        `| ${r.title} | ${f.name} | ${Number.isInteger(f.value) ? f.value : f.value.toFixed(3)} ${f.unit} | ${f.goal ?? ""} | ${f.met === undefined ? "" : f.met ? "met" : "**missed**"} | ${r.runs} |`,
    ),
  );
  const md = [
    "# Benchmarks",
    "",
    `Latest run: ${at} on ${machine}.`,
    "",
    "Reproduce with `npm run bench` (all) or `npm run bench -- <name>` (one file in bench/). Raw figures: `bench/results.json`.",
    "",
    "| benchmark | figure | value | goal | | runs |",
    "|---|---|---|---|---|---|",
    ...rows,
    "",
    ...reports.flatMap((r) => (r.notes?.length ? [`**${r.title}**: ${r.notes.join(" ")}`, ""] : [])),
  ].join("\n");
  writeFileSync(path.join(root, "BENCHMARKS.md"), md);
  // The table is written plainly; biome lays it out as the lint check expects, so a fresh run commits clean.
  execFileSync(path.join(root, "node_modules", ".bin", "biome"), ["format", "--write", "BENCHMARKS.md"], {
    cwd: root,
    stdio: "ignore",
  });
}
process.exit(failedBenches ? 1 : 0);
