/**
 * The simulated workload of `npm run bench -- chooser`, written down so anyone can check it: task
 * kinds, their share of the stream, and per (kind, profile) a success probability and a cost per run.
 * Published figures where they exist (SOURCES), chosen where they do not (marked "chosen").
 */
import type { ProfileName } from "@vault-mcp/contract";

/** The default LADDER (wrangler.toml) without `human`: the human rung is not simulated. */
export const LADDER = ["deepseek", "gemini-flash", "gemini-pro", "sonnet", "opus", "consensus"] as const;
export type LadderProfile = (typeof LADDER)[number] & ProfileName;

export const SOURCES = {
  wtbca:
    "whatsthebestcodeagent.com: the four agent CLIs on all 500 SWE-bench Verified tasks. Claude Code + Sonnet 4.5 64.0 % at $1.193 per task; Codex CLI + GPT-5 57.4 % at $0.126; Gemini CLI + Gemini 2.5 Pro 42.4 % at $0.403. Task time buckets: < 15 min 194, 15 min–1 h 261, 1–4 h 42, > 4 h 3.",
  vals: "vals.ai SWE-bench (2025-06-13): Claude Sonnet 4 65.0 % at $1.24 per test; every model drops sharply on tasks over 1 h.",
  hal: "HAL SWE-bench Verified (hal.cs.princeton.edu/swebench): Sonnet 3.5 38 % for $67.09 over 500 tasks ($0.134 per run, $0.35 per solve): cheap agents exist, at a lower solve rate.",
  claude4:
    "Anthropic's Claude 4 launch (May 2025), SWE-bench Verified: Opus 4 72.5 %, Sonnet 4 72.7 %, Gemini 2.5 Pro 63.2 % (vendor scaffolds): on SWE-bench-like work opus is not ahead of sonnet.",
  deepseek:
    "DeepSeek-V3.1 release notes: SWE-bench Verified 66.0 % (agent mode, vendor scaffold); an independent harness scores models lower (Gemini 2.5 Pro 63.2 % vendor → 42.4 % in the Gemini CLI, ×0.67), hence 0.44 here.",
  deepswe:
    "DeepSWE (Datacurve, 2026; long-horizon tasks written from scratch): GPT-5.5 70 %, Opus 4.7 54 %, Gemini 3.5 Flash 28 %, DeepSeek V4 Pro 8 %.",
  tokens:
    "holyai.me/solve-tax: a SWE-bench Verified attempt averages about 250k input and 30k output tokens; with executor/config/prices.json that prices deepseek at 0.126 × sonnet, gemini-flash at 0.245 × gemini-pro, and opus at 2 × sonnet.",
  consensus:
    "executor/src/jobs/build-result.ts: a consensus run succeeds only when both sides (sonnet and codex) succeed and do not disagree, so it succeeds less often than sonnet alone; chosen ≈ 0.9 × the weaker side.",
} as const;

/** Spend of one run on a SWE-bench-Verified-sized task (kind multiplier 1), and where it comes from. */
export const BASE_COST_USD: Readonly<Record<LadderProfile, number>> = {
  deepseek: 1.193 * 0.126,
  "gemini-flash": 0.403 * 0.245,
  "gemini-pro": 0.403,
  sonnet: 1.193,
  opus: 1.193 * 2,
  consensus: 1.193 + 0.126,
};
export const COST_BASIS: Readonly<Record<LadderProfile, string>> = {
  deepseek: "sonnet's $1.193 (wtbca) × 0.126 (tokens)",
  "gemini-flash": "gemini-pro's $0.403 (wtbca) × 0.245 (tokens)",
  "gemini-pro": "$0.403 measured (wtbca)",
  sonnet: "$1.193 measured (wtbca; vals: $1.24)",
  opus: "2 × sonnet (tokens: prices.json $4/$20 against $2/$10, claude's own list prices)",
  consensus: "sonnet $1.193 + codex $0.126 (wtbca)",
};

/** SWE-bench Verified's time buckets (wtbca): the mix the three bugfix-like kinds must give back. */
export const VERIFIED_MIX: Readonly<Record<string, number>> = { "bugfix-easy": 194, bugfix: 261, feature: 45 };
/** Each profile's overall SWE-bench Verified rate the split is checked against. */
export const VERIFIED_ANCHOR: Readonly<Record<LadderProfile, string>> = {
  deepseek: "0.44, deepseek",
  "gemini-flash": "none published; chosen below pro",
  "gemini-pro": "0.424, wtbca",
  sonnet: "0.64, wtbca; 0.65, vals",
  opus: "sonnet + 2 points, claude4",
  consensus: "below codex's 0.574 (wtbca) and sonnet's",
};

export interface Kind {
  name: string;
  /** Share of the stream. */
  share: number;
  /** Spend of a run relative to a SWE-bench Verified task (chosen: longer tasks run longer). */
  costScale: number;
  /** Success probability of one run, in LADDER order. */
  success: Readonly<Record<LadderProfile, number>>;
  basis: string;
}

/**
 * The three SWE-bench buckets are split (chosen) so that the Verified mix (VERIFIED_MIX) gives back
 * each profile's published overall rate (VERIFIED_ANCHOR); the bench prints the check.
 */
export const KINDS: readonly Kind[] = [
  {
    name: "docs",
    share: 0.2,
    costScale: 0.25,
    success: { deepseek: 0.9, "gemini-flash": 0.88, "gemini-pro": 0.92, sonnet: 0.97, opus: 0.97, consensus: 0.86 },
    basis: "chosen: docs, comments, config and renames; every model does these well",
  },
  {
    name: "tests",
    share: 0.15,
    costScale: 0.5,
    success: { deepseek: 0.75, "gemini-flash": 0.72, "gemini-pro": 0.8, sonnet: 0.92, opus: 0.93, consensus: 0.79 },
    basis: "chosen: unit tests for existing code",
  },
  {
    name: "bugfix-easy",
    share: 0.25,
    costScale: 0.6,
    success: { deepseek: 0.62, "gemini-flash": 0.52, "gemini-pro": 0.6, sonnet: 0.82, opus: 0.84, consensus: 0.68 },
    basis: "SWE-bench Verified < 15 min bucket (wtbca, vals, claude4, deepseek; split chosen)",
  },
  {
    name: "bugfix",
    share: 0.25,
    costScale: 1.2,
    success: { deepseek: 0.38, "gemini-flash": 0.3, "gemini-pro": 0.36, sonnet: 0.58, opus: 0.6, consensus: 0.45 },
    basis: "SWE-bench Verified 15 min–1 h bucket (as above)",
  },
  {
    name: "feature",
    share: 0.1,
    costScale: 2,
    success: { deepseek: 0.12, "gemini-flash": 0.12, "gemini-pro": 0.15, sonnet: 0.25, opus: 0.3, consensus: 0.18 },
    basis: "SWE-bench Verified 1–4 h and > 4 h buckets (as above; vals: sharp drop past 1 h)",
  },
  {
    name: "hard",
    share: 0.05,
    costScale: 3,
    success: { deepseek: 0.08, "gemini-flash": 0.28, "gemini-pro": 0.3, sonnet: 0.45, opus: 0.54, consensus: 0.41 },
    basis: "DeepSWE (deepswe: deepseek 8 %, flash 28 %, opus 54 %; pro and sonnet chosen between; codex side 70 %)",
  },
];

/**
 * How outcomes on one task hang together (chosen). With probability CORRELATION a task is decided by
 * its difficulty alone: one uniform draw u, and a rung succeeds iff u < its probability, so a
 * stronger rung succeeds wherever a weaker one did. Otherwise each rung draws on its own. Either way
 * each rung's marginal success is the table's. Runs that fail cost FAILED_RUN_COST × a success's
 * (chosen: they run to a limit); every run's cost has log-normal noise of sigma COST_SIGMA (chosen).
 */
export const CORRELATION = 0.5;
export const FAILED_RUN_COST = 1.25;
export const COST_SIGMA = 0.4;
