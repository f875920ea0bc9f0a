/**
 * GET /health (the contract's ExecutorHealth): which agent CLIs this machine has (path and
 * `--version`, probed once at start-up with a short timeout and cached: a hung CLI must not hang the
 * probe), each profile's readiness (readiness.ts), the queue's figures and disk use (disk.ts).
 * Open route: it carries no secret, no prompt, no path from a request.
 */
import { access, constants } from "node:fs/promises";
import path from "node:path";
import type { CliName, CliProbe, ExecutorHealth } from "@vault-mcp/contract";
import pkg from "../package.json" with { type: "json" };
import type { ProcessOutcome, RunProcessOptions } from "./interfaces.ts";

/** The executor's package version (bundled into dist/server.js at build time). */
export const VERSION: string = pkg.version;
const PROBE_TIMEOUT_MS = 5_000;

export type CliInfo = CliProbe;

export async function which(bin: string, envPath = process.env.PATH ?? ""): Promise<string | null> {
  const candidates = bin.includes("/")
    ? [bin]
    : envPath
        .split(path.delimiter)
        .filter(Boolean)
        .map((d) => path.join(d, bin));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      return path.resolve(c);
    } catch {
      // not here: the next PATH entry
    }
  }
  return null;
}

export async function probeClis(
  bins: Readonly<Record<CliName, string>>,
  runProcess: (o: RunProcessOptions) => Promise<ProcessOutcome>,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<Record<CliName, CliInfo>> {
  const entries = await Promise.all(
    (Object.entries(bins) as [CliName, string][]).map(async ([name, bin]): Promise<[CliName, CliInfo]> => {
      const found = await which(bin);
      if (!found) return [name, { found: false, path: null, version: null }];
      const out = await runProcess({
        argv: [found, "--version"],
        cwd: "/",
        env: { PATH: process.env.PATH ?? "", HOME: "/tmp", NO_COLOR: "1" },
        timeoutMs,
        killGraceMs: 1_000,
        maxOutputBytes: 4096,
      });
      const line = out.stdout.trim().split("\n")[0]?.slice(0, 200) ?? "";
      return [name, { found: true, path: found, version: out.exitCode === 0 && !out.timedOut && line ? line : null }];
    }),
  );
  return Object.fromEntries(entries) as Record<CliName, CliInfo>;
}

/** Ready, or why not: no profile can run, so every job would fail at once. */
export function healthStatus(
  draining: boolean,
  profiles: ExecutorHealth["profiles"],
): Pick<ExecutorHealth, "status" | "reason"> {
  if (draining) return { status: "draining" };
  if (Object.values(profiles).some((p) => p.ready)) return { status: "ok" };
  return { status: "degraded", reason: "no profile can run: see each profile's `missing`" };
}
