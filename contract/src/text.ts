/**
 * Text that reaches a terminal or a model's context: an agent's answer, a model API's error, a
 * caller's prompt. Any of them can carry escape sequences that retitle a window, plant an OSC-8 link,
 * clear the screen, switch to the alternate screen or reorder what is shown (bidi overrides). Both
 * the `vault` CLI and the Worker's MCP answers pass such text through `stripControls` first; it is
 * defined once here because both sides print the same stored text.
 */

/**
 * ESC-introduced and 8-bit (C1) sequences, removed whole so no parameter bytes are left behind:
 * CSI (`ESC [` or U+009B, e.g. colours, cursor moves, `?1049h` alternate screen); the string
 * sequences OSC (`ESC ]` / U+009D: titles, OSC-8 links, clipboard), DCS, SOS, PM and APC, up to
 * their terminator (BEL or ST) or, when a terminator is missing, the end of the line; and the
 * two-byte forms (`ESC c` reset, `ESC 7`, `ESC ( B`).
 */
const SEQUENCE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal control sequences is the point
  /(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\n]*?(?:\x07|\x1b\\|\x9c|(?=\n)|$)|\x1b[\x20-\x2f]*[\x30-\x7e]?/g;

/**
 * What is left after the sequences: C0 controls but tab and newline (CR included: it lets a line
 * overwrite itself), DEL, the C1 range, and the bidi controls (LRM, RLM, ALM, the embeddings and
 * overrides U+202A–U+202E, the isolates U+2066–U+2069).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` without terminal control sequences, control characters or bidi controls; newlines and tabs stay. */
export function stripControls(text: string): string {
  return text.replace(/\r\n/g, "\n").replace(SEQUENCE, "").replace(CONTROL, "");
}

/**
 * `text` with each control and bidi character written out as `\uXXXX` (newlines and tabs stay):
 * for messages that quote what a caller sent, so they still name it exactly, and nothing of it acts
 * on a terminal.
 */
export function escapeControls(text: string): string {
  return text.replace(/\r\n/g, "\n").replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Every string inside a JSON-shaped value passed through `stripControls` (keys included). */
export function stripControlsDeep<T>(value: T): T {
  if (typeof value === "string") return stripControls(value) as T;
  if (Array.isArray(value)) return value.map((v) => stripControlsDeep(v)) as T;
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[stripControls(k)] = stripControlsDeep(v);
    return out as T;
  }
  return value;
}
