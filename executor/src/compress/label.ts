/**
 * The size of a label's text: clipped to a byte budget so a diagram stays small whatever the input.
 * Escaping is not done here: the flowchart builder (flowchart.ts) escapes each label once, when it
 * writes it, and escaping never lengthens a text. Also the text levels' plain-text helpers.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** Control (Cc) and format (Cf: zero-width, bidi overrides, BOM) characters, after newlines/tabs became spaces. */
const INVISIBLE = /[\p{Cc}\p{Cf}]/gu;

/** One line of plain text: no control or invisible characters, whitespace folded. Also used for the text levels. */
export function plain(text: string): string {
  return text.replace(/\s+/g, " ").replace(LONE_SURROGATE, "").replace(INVISIBLE, "").replace(/ {2,}/g, " ").trim();
}

/** UTF-8 size of one code point; a lone surrogate is written as U+FFFD (3 bytes), as TextEncoder does. */
export const utf8Size = (cp: number): number => (cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);

export function utf8Length(text: string): number {
  let n = 0;
  for (const ch of text) n += utf8Size(ch.codePointAt(0) ?? 0);
  return n;
}

/**
 * Cuts `text` to at most `maxBytes` UTF-8 bytes, never inside a code point, marking the cut with
 * `…` at the end (`head`) or the start (`tail`). Bytes, not characters, because a BPE token always
 * covers at least one byte: a byte cap is a hard cap on tokens too, whatever the script (40 rare
 * astral characters cost ~150 o200k tokens; 40 bytes of them cost at most 40).
 */
export function cut(text: string, maxBytes: number, keep: "head" | "tail" = "head"): string {
  if (utf8Length(text) <= maxBytes) return text;
  const points = Array.from(text);
  if (keep === "tail") points.reverse();
  let budget = maxBytes - 3; // the ellipsis is 3 bytes
  let n = 0;
  for (const p of points) {
    budget -= utf8Size(p.codePointAt(0) ?? 0);
    if (budget < 0) break;
    n += 1;
  }
  return keep === "head"
    ? `${points.slice(0, n).join("").trimEnd()}…`
    : `…${points.slice(0, n).reverse().join("").trimStart()}`;
}

/** One line of text for a label, at most `max` UTF-8 bytes, never empty. */
export function clip(text: string, max = 40): string {
  const out = cut(plain(text), max);
  return out.length > 0 ? out : "-";
}

/**
 * A file path as a label. The end of a path is what tells files apart, so a long one keeps its
 * last whole segments after `…/` (`…/worktree/manager.ts`), or the tail of a too-long file name.
 */
export function clipPath(path: string, max = 32): string {
  const safe = plain(path);
  if (utf8Length(safe) <= max) return safe.length > 0 ? safe : "-";
  const parts = safe.split("/");
  let tail = parts.pop() ?? "";
  if (utf8Length(tail) + 4 > max) return cut(tail, max, "tail");
  for (let next = parts.pop(); next !== undefined && utf8Length(`${next}/${tail}`) + 4 <= max; next = parts.pop())
    tail = `${next}/${tail}`;
  return `…/${tail}`;
}

/** Cost for people: 2 decimals from a dollar up, 4 below, `$0` for free runs; anything non-finite is unknown. */
export function money(usd: number): string {
  if (!Number.isFinite(usd) || usd < 0) return "$?";
  if (usd === 0) return "$0";
  return usd >= 1 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`;
}
