/** Which agent CLIs this machine has (path and version), probed once at start-up. */
import { access, constants } from "node:fs/promises";
import path from "node:path";
import type { CliName } from "@vault-mcp/contract";
import type { ProcessOutcome, RunProcessOptions } from "./interfaces.ts";

export interface CliInfo {
  found: boolean;
  path: string | null;
  version: string | null;
}

export async function which(bin: string, envPath = process.env.PATH ?? ""): Promise<string | null> {
  const candidates = bin.includes("/") ? [bin] : envPath.split(path.delimiter).filter(Boolean).map((d) => path.join(d, bin));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      return path.resolve(c);
    } catch {
      // next
    }
  }
  return null;
}

export async function probeClis(
  bins: Readonly<Record<CliName, string>>,
  runProcess: (o: RunProcessOptions) => Promise<ProcessOutcome>,
): Promise<Record<CliName, CliInfo>> {
  const entries = await Promise.all(
    (Object.entries(bins) as [CliName, string][]).map(async ([name, bin]): Promise<[CliName, CliInfo]> => {
      const found = await which(bin);
      if (!found) return [name, { found: false, path: null, version: null }];
      const out = await runProcess({ argv: [found, "--version"], cwd: "/", env: { PATH: process.env.PATH ?? "", HOME: "/tmp", NO_COLOR: "1" }, timeoutMs: 15_000, killGraceMs: 1_000, maxOutputBytes: 4096 });
      const version = out.exitCode === 0 ? (out.stdout.trim().split("\n")[0] ?? null) : null;
      return [name, { found: true, path: found, version }];
    }),
  );
  return Object.fromEntries(entries) as Record<CliName, CliInfo>;
}
