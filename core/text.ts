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
