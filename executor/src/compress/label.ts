/**
 * Mermaid-safe label text. Whatever a model wrote (quotes, brackets, backticks, newlines, `end`,
 * `%%`, `-->`, entities) becomes plain words: characters with meaning to Mermaid's grammar are
 * dropped, whitespace is folded, and the text is cut to `max` characters. Labels are always
 * emitted inside `["…"]`, where what remains cannot close the node.
 */
const UNSAFE = /["`'[\](){}<>|#;:&\\%*=~^$@!?]/g;

export function label(text: string, max = 40): string {
  const cleaned = text
    .replace(/\r?\n|\r|\t/g, " ")
    .replace(/-{2,}>?|={2,}>?|\.{2,}/g, " ")
    .replace(UNSAFE, " ")
    .replace(/\s+/g, " ")
    .trim();
  const cut = cleaned.length > max ? `${cleaned.slice(0, max - 1).trimEnd()}…` : cleaned;
  return cut.length > 0 ? cut : "-";
}

export const money = (usd: number): string => (usd >= 1 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`);
