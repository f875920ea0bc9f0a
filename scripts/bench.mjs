#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.ts (Node 22 strips the types), prints each figure, and
// writes bench/results.json and the table in BENCHMARKS.md. `npm run bench -- <filter>` runs a subset
// and writes nothing; `npm run bench -- <filter> --write` puts that subset's reports in place of their
// previous ones in both files (each marked with its own run time), leaving the others as they were.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const root = path.resolve(import.meta.dirname, "..");
process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
const args = process.argv.slice(2);
const write = args.includes("--write");
const filter = args.find((a) => !a.startsWith("--")) ?? "";
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
    for (const line of report.summary ?? []) process.stdout.write(`${line}\n`);
  } catch (err) {
    failedBenches += 1;
    process.stdout.write(`  FAILED: ${err instanceof Error ? err.stack : String(err)}\n`);
  }
}

const now = new Date().toISOString();
const resultsFile = path.join(root, "bench", "results.json");
if (!filter || write) {
  let at = now;
  let fullMachine = machine;
  let all = reports;
  if (filter && existsSync(resultsFile)) {
    // A subset: its reports replace their previous ones; the others keep the full run's time and machine.
    const previous = JSON.parse(readFileSync(resultsFile, "utf8"));
    at = previous.at;
    fullMachine = previous.machine;
    const fresh = new Map(reports.map((r) => [r.file, { ...r, at: now, machine }]));
    all = [...previous.reports.filter((r) => !fresh.has(r.file)), ...fresh.values()].sort((a, b) =>
      a.file.localeCompare(b.file),
    );
  }
  const runAt = (r) =>
    r.at && r.at !== at ? ` (run alone at ${r.at}${r.machine === fullMachine ? "" : ` on ${r.machine}`})` : "";
  writeFileSync(resultsFile, `${JSON.stringify({ at, machine: fullMachine, reports: all }, null, 2)}\n`);
  const rows = all.flatMap((r) =>
    r.figures.map(
      (f) =>
        `| ${r.title} | ${f.name} | ${Number.isInteger(f.value) ? f.value : f.value.toFixed(3)} ${f.unit} | ${f.goal ?? ""} | ${f.met === undefined ? "" : f.met ? "met" : "**missed**"} | ${r.runs} |`,
    ),
  );
  const md = [
    "# Benchmarks",
    "",
    `Latest run: ${at} on ${fullMachine}.`,
    "",
    "Reproduce with `npm run bench` (all) or `npm run bench -- <name>` (one file in bench/; add `--write` to put its figures here). Raw figures: `bench/results.json`.",
    "",
    "| benchmark | figure | value | goal | | runs |",
    "|---|---|---|---|---|---|",
    ...rows,
    "",
    ...all.flatMap((r) =>
      r.notes?.length || r.summary?.length
        ? [
            `**${r.title}**${runAt(r)}: ${[...(r.notes ?? []), ...(r.summary ?? []).map((l) => `\`${l}\``)].join(" ")}`,
            "",
          ]
        : [],
    ),
    ...all.flatMap((r) => (r.details ? [r.details, ""] : [])),
  ].join("\n");
  writeFileSync(path.join(root, "BENCHMARKS.md"), md);
  // The table is written plainly; biome lays it out as the lint check expects, so a fresh run commits clean.
  execFileSync(path.join(root, "node_modules", ".bin", "biome"), ["format", "--write", "BENCHMARKS.md"], {
    cwd: root,
    stdio: "ignore",
  });
}
process.exit(failedBenches ? 1 : 0);
