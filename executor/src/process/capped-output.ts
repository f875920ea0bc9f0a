/**
 * Collects a child's output stream up to a byte cap. Everything past the cap is still read (so the
 * child never blocks on a full pipe) and dropped, which keeps memory flat for a 100 MB flood.
 *
 * With a tail (`tailBytes` > 0, the agent CLIs' runs) the last `tailBytes` are kept as well: a CLI's
 * result comes last (claude's and gemini's JSON, codex's turn.completed), so a run that printed more
 * than the cap still has its answer read. What lies between the head and the tail is dropped and
 * marked (`OMITTED`), at line boundaries of its own so no parser joins the two halves.
 */
export class CappedOutput {
  readonly #cap: number;
  readonly #tailCap: number;
  readonly #chunks: Buffer[] = [];
  #stored = 0;
  #seen = 0;
  /** Everything after the head, while a tail is kept: at most #tailCap bytes plus one chunk. */
  readonly #tail: Buffer[] = [];
  #tailStored = 0;

  constructor(capBytes: number, tailBytes = 0) {
    this.#cap = Math.max(0, Math.floor(capBytes));
    this.#tailCap = Math.max(0, Math.floor(tailBytes));
  }

  push(chunk: Buffer): void {
    this.#seen += chunk.length;
    const room = this.#cap - this.#stored;
    if (room > 0) {
      // Copy a partial chunk: a subarray would pin the whole 64 KiB read buffer.
      const part = chunk.length <= room ? chunk : Buffer.from(chunk.subarray(0, room));
      this.#chunks.push(part);
      this.#stored += part.length;
      if (part.length === chunk.length) return;
      chunk = chunk.subarray(room);
    }
    if (this.#tailCap === 0) return;
    // A copy, for the same reason as above.
    this.#tail.push(Buffer.from(chunk));
    this.#tailStored += chunk.length;
    // Whole chunks that fall out of the window go; the first one left may still start before it.
    while (this.#tail.length > 1 && this.#tailStored - (this.#tail[0] as Buffer).length >= this.#tailCap) {
      this.#tailStored -= (this.#tail.shift() as Buffer).length;
    }
  }

  /** Bytes written that are in neither the head nor the tail. */
  get #omitted(): number {
    return this.#seen - this.#stored - Math.min(this.#tailStored, this.#tailCap);
  }

  get truncated(): boolean {
    return this.#omitted > 0;
  }

  /** Total bytes the child wrote, stored or not. */
  get bytesSeen(): number {
    return this.#seen;
  }

  /** The stored bytes as UTF-8; a character cut in half by the cap is dropped, not mangled. */
  text(): string {
    const head = Buffer.concat(this.#chunks, this.#stored);
    if (this.#tailStored === 0) return (this.truncated ? dropIncompleteTail(head) : head).toString("utf8");
    const all = Buffer.concat(this.#tail, this.#tailStored);
    const tail = all.subarray(Math.max(0, all.length - this.#tailCap));
    const omitted = this.#omitted;
    if (omitted === 0) return Buffer.concat([head, tail]).toString("utf8");
    return `${dropIncompleteTail(head).toString("utf8")}${OMITTED(omitted)}${dropIncompleteHead(tail).toString("utf8")}`;
  }
}

/** What stands between the head and the tail of an output cut in the middle. */
export const OMITTED = (bytes: number): string => `\n[… ${bytes} bytes of output not kept …]\n`;

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

/** Returns `buf` without the continuation bytes (at most 3) of a character the cut split at its start. */
export function dropIncompleteHead(buf: Buffer): Buffer {
  let skip = 0;
  while (skip < Math.min(3, buf.length) && ((buf[skip] as number) & 0xc0) === 0x80) skip++;
  return buf.subarray(skip);
}
