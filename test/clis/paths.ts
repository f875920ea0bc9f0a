/**
 * Where the pinned agent CLIs are once test/clis is installed (`npm run clis`, which `npm test` also
 * runs when node_modules/.installed is missing). Each path is null when missing.
 *
 * The native binaries are used directly where there are some: claude's npm `bin` is the same ELF
 * file only when its postinstall ran, and codex's node wrapper can orphan the native binary when the
 * wrapper alone is SIGKILLed (notes §5).
 */
import { accessSync, constants, readFileSync } from "node:fs";
import path from "node:path";

export const CLIS_DIR = import.meta.dirname;
const nm = path.join(CLIS_DIR, "node_modules");

/** The versions package.json pins (the fixtures and the adapters were checked against these). */
export const CLI_VERSIONS = { claude: "2.1.331", codex: "0.169.0", gemini: "0.61.0" } as const;
export type PinnedCli = keyof typeof CLI_VERSIONS;

function executable(...candidates: string[]): string | null {
  for (const p of candidates) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next candidate
    }
  }
  return null;
}

function isElf(p: string | null): string | null {
  if (!p) return null;
  try {
    return readFileSync(p).subarray(0, 4).toString("latin1") === "\u007fELF" ? p : null;
  } catch {
    return null;
  }
}

const arch = process.arch === "arm64" ? "arm64" : "x64";
const triple = process.arch === "arm64" ? "aarch64-unknown-linux-musl" : "x86_64-unknown-linux-musl";

export const cliPaths: Readonly<Record<PinnedCli, string | null>> = Object.freeze({
  /** The native (Bun-compiled) binary. */
  claude:
    executable(path.join(nm, "@anthropic-ai", `claude-code-linux-${arch}`, "claude")) ??
    isElf(executable(path.join(nm, "@anthropic-ai", "claude-code", "bin", "claude.exe"))),
  /** codex's native (static musl) binary, run directly. */
  codex: executable(path.join(nm, "@openai", `codex-linux-${arch}`, "vendor", triple, "bin", "codex")),
  /** gemini's JS bundle (a `#!/usr/bin/env node` script: node ≥ 20 must be on the child's PATH). */
  gemini: executable(path.join(nm, "@google", "gemini-cli", "bundle", "gemini.js")),
});

/** The CLIs that are not installed. */
export function missingClis(): PinnedCli[] {
  return (Object.keys(cliPaths) as PinnedCli[]).filter((name) => cliPaths[name] === null);
}

/** The path of one CLI, or an error that says how to install it. */
export function requireCli(name: PinnedCli): string {
  const p = cliPaths[name];
  if (!p) throw new Error(`the pinned ${name} CLI is not installed: run \`npm run clis\` (npm test does it once)`);
  return p;
}
