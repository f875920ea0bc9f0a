/** A local D1 (the same SQLite-backed D1 wrangler dev uses) with the project's migrations applied. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { getPlatformProxy } from "wrangler";

const ROOT = path.resolve(import.meta.dirname, "..");

export async function localD1(): Promise<{ db: D1Database; dispose(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "vault-bench-d1-"));
  const config = path.join(dir, "wrangler.toml");
  writeFileSync(
    config,
    `name = "bench"\ncompatibility_date = "2026-11-01"\n[[d1_databases]]\nbinding = "DB"\ndatabase_name = "bench"\ndatabase_id = "00000000-0000-0000-0000-000000000000"\n`,
  );
  const proxy = await getPlatformProxy<{ DB: D1Database }>({
    configPath: config,
    persist: { path: path.join(dir, "state") },
    remoteBindings: false,
  });
  const db = proxy.env.DB;
  for (const file of readdirSync(path.join(ROOT, "migrations"))
    .filter((f) => f.endsWith(".sql"))
    .sort()) {
    for (const stmt of readFileSync(path.join(ROOT, "migrations", file), "utf8").split("--> statement-breakpoint")) {
      if (stmt.trim()) await db.prepare(stmt).run();
    }
  }
  return {
    db,
    async dispose() {
      await proxy.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}
