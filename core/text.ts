/** Transcripts keep at most 1 MiB of text: D1 rows stay well under its 2 MB row limit. */
const MAX_TRANSCRIPT_BYTES = 1024 * 1024;

const encoder = new TextEncoder();

/** Cuts text to at most `maxBytes` of UTF-8 without splitting a code point. */
export function capText(
  text: string,
  maxBytes = MAX_TRANSCRIPT_BYTES,
): { content: string; bytes: number; truncated: boolean } {
  const bytes = encoder.encode(text);
  if (bytes.byteLength <= maxBytes) return { content: text, bytes: bytes.byteLength, truncated: false };
  // A non-fatal decoder turns a code point cut at the boundary into U+FFFD, which is dropped.
  const content = new TextDecoder("utf-8").decode(bytes.subarray(0, maxBytes)).replace(/\uFFFD$/, "");
  return { content, bytes: bytes.byteLength, truncated: true };
}

/** A span of time as people say it: `40 s`, `12 min`, `3 h 5 min`, `2 d 4 h`. */
export function spanText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}
