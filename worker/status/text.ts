/**
 * Text as the status pages show it. Everything an agent, a model or a caller wrote is hostile: HTML
 * is escaped by the templates (hono/jsx escapes every child and attribute), and before that
 * `shown` removes what escaping does not — terminal control sequences (CSI, OSC…), C0/C1 controls
 * and the bidi controls that reorder what a reader sees (`stripControls`, shared with the CLI and
 * the MCP answers).
 */
import { stripControls } from "@vault-mcp/contract";

/** Hostile text made plain: no control sequence, control character or bidi control; newlines stay. */
export function shown(text: string | null | undefined): string {
  return text ? stripControls(text) : "";
}

/** The first non-empty line, cut to `max` characters with an ellipsis. */
export function firstLine(text: string, max: number): string {
  const line =
    shown(text)
      .split("\n")
      .find((l) => l.trim() !== "")
      ?.trim() ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** What the task asked to run, in the words of `execute`'s fields. */
export function askedOf(t: { profile: string; executor: string | null; climb: boolean }): string {
  if (t.executor === null) return `profile ${t.profile}`;
  return t.climb ? `executor ${t.executor}, climbs` : `executor ${t.executor}`;
}

export function money(usd: number): string {
  if (usd === 0) return "$0";
  return usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/** `42 s`, `7 min`, `3 h`, `12 d`: how long ago, at a glance. */
export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** `2026-11-24 15:30:12 UTC`: one unambiguous form, whatever the reader's locale. */
export function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

export function tokens(n: number): string {
  return n >= 10_000 ? `${Math.round(n / 1000)}k` : String(n);
}

/** A link target from stored data (a PR URL): http(s) only, so no `javascript:` ever becomes a link. */
export function safeHref(url: string | null): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch {
    // Not a URL at all: shown nowhere as a link.
    return null;
  }
}
