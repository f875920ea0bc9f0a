/**
 * Collects a child's output stream up to a byte cap. Everything past the cap is still read (so the
 * child never blocks on a full pipe) and dropped, which keeps memory flat for a 100 MB flood.
 */
export class CappedOutput {
  readonly #cap: number;
  readonly #chunks: Buffer[] = [];
  #stored = 0;
  #seen = 0;

  constructor(capBytes: number) {
    this.#cap = Math.max(0, Math.floor(capBytes));
  }

  push(chunk: Buffer): void {
    this.#seen += chunk.length;
    const room = this.#cap - this.#stored;
    if (room <= 0) return;
    // Copy a partial chunk: a subarray would pin the whole 64 KiB read buffer.
    const part = chunk.length <= room ? chunk : Buffer.from(chunk.subarray(0, room));
    this.#chunks.push(part);
    this.#stored += part.length;
  }

  get truncated(): boolean {
    return this.#seen > this.#stored;
  }

  /** Total bytes the child wrote, stored or not. */
  get bytesSeen(): number {
    return this.#seen;
  }

  /** The stored bytes as UTF-8; a character cut in half by the cap is dropped, not mangled. */
  text(): string {
    const buf = Buffer.concat(this.#chunks, this.#stored);
    return (this.truncated ? dropIncompleteTail(buf) : buf).toString("utf8");
  }
}

/**
 * Returns `buf` without a trailing incomplete UTF-8 sequence. Only the last 1-3 bytes can belong to
 * a sequence the cut split; invalid bytes elsewhere are left to the decoder (U+FFFD).
 */
export function dropIncompleteTail(buf: Buffer): Buffer {
  for (let back = 1; back <= Math.min(4, buf.length); back++) {
    const byte = buf[buf.length - back] as number;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead byte
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? buf.subarray(0, buf.length - back) : buf;
  }
  return buf;
}
