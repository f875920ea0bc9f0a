/** Plain-text output: tables, money, durations, ages, and status colours for terminals. */
import type { TaskView } from "@vault-mcp/contract";

// SGR escape codes (colours): they take no room on screen.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal escape codes is the point
const ANSI = /\x1b\[[0-9;]*m/g;

/** Width as a terminal shows it: escape codes take no room. */
export const visibleLength = (s: string): number => s.replace(ANSI, "").length;

const pad = (s: string, width: number, right: boolean): string => {
  const fill = " ".repeat(Math.max(0, width - visibleLength(s)));
  return right ? fill + s : s + fill;
};

/**
 * Columns padded to their widest cell, two spaces apart, like `gh` and `wrangler` lists. Columns
 * named in `right` are right-aligned (numbers); trailing spaces are trimmed.
 */
export function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  right: readonly number[] = [],
): string {
  const widths = headers.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ""))));
  const line = (cells: readonly string[]) =>
    headers
      .map((_, i) => pad(cells[i] ?? "", widths[i] ?? 0, right.includes(i)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** Four decimals under a dollar (agent runs cost fractions of a cent), two above. */
export const money = (usd: number): string => `$${usd.toFixed(Math.abs(usd) >= 1 ? 2 : 4)}`;

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  if (m < 60) return `${m}m${String(Math.floor((ms % 60_000) / 1000)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

export function age(thenMs: number, nowMs: number = Date.now()): string {
  const s = Math.max(0, Math.round((nowMs - thenMs) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** 1234567 → 1.2M, 12345 → 12.3k: token counts in a narrow column. */
export function count(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** First line, whitespace folded, cut to `max` with an ellipsis. */
export function truncate(text: string, max: number): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, Math.max(0, max - 1)).trimEnd()}…` : one;
}

/** Folds a message onto one line: every error the CLI prints is a single line on stderr. */
export const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, " ").trim();

export type Tone = "good" | "bad" | "warn" | "dim";
const CODES: Record<Tone, string> = { good: "32", bad: "31", warn: "33", dim: "2" };

export function paint(text: string, tone: Tone | null, color: boolean): string {
  return color && tone ? `\x1b[${CODES[tone]}m${text}\x1b[0m` : text;
}

export function statusTone(status: string): Tone | null {
  switch (status) {
    case "succeeded":
      return "good";
    case "failed":
    case "blocked":
    case "error":
      return "bad";
    case "halted":
    case "needs_human":
    case "timeout":
      return "warn";
    case "closed":
    case "skipped":
      return "dim";
    default:
      return null;
  }
}

export const status = (s: string, color: boolean): string => paint(s, statusTone(s), color);

/**
 * What the task asked to run, as the caller said it: `executor claude` (that CLI once), `executor
 * claude, climbs` (with profile auto beside it), `profile auto` (the ladder) or `profile sonnet`.
 */
export function asked(t: Pick<TaskView, "executor" | "profile" | "climb">): string {
  if (t.executor) return `executor ${t.executor}${t.climb ? ", climbs" : ""}`;
  return `profile ${t.profile}`;
}

/** Attempts in which a model ran, and how many rungs were passed over without one. */
export function runsText(runs: number, attempts: number): string {
  const skipped = attempts - runs;
  return `${runs} model run${runs === 1 ? "" : "s"}${skipped > 0 ? ` (${skipped} rung${skipped === 1 ? "" : "s"} without one)` : ""}`;
}
