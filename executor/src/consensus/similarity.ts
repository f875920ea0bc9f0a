/**
 * How alike two final answers are, in [0, 1]: the Sørensen–Dice coefficient over the sets of
 * content words, 2·|A∩B| / (|A| + |B|).
 *
 * Why this measure:
 * - Deterministic, cheap and explainable: no model, no embeddings, the same on every machine.
 * - Sets, not counts: an answer that repeats a word is not "more" of it; order does not matter, so
 *   "created hello.txt" and "hello.txt was created" match.
 * - Dice rather than Jaccard (|A∩B| / |A∪B|): they rank pairs identically (D = 2J / (1 + J)), so the
 *   choice only sets the scale of the thresholds; Dice reads as "the share of each answer's words
 *   the other one also has" and is kinder to a short answer set beside a long one.
 * - Words are letters/digits/underscore runs in any script (lower-cased); each Han or kana character
 *   is a word on its own, since Chinese and Japanese do not put spaces between words. A few
 *   English function words are dropped so that two unrelated sentences do not look 20 % alike
 *   just for sharing "the", "is" and "in".
 */
const STOPWORDS = new Set(
  "a an and are as at be by for from has have i in is it its of on or that the this to was we were will with you".split(
    " ",
  ),
);
// `v` flag: set subtraction keeps CJK characters out of the run-of-letters branch.
const WORD =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]|[[\p{L}\p{N}\p{M}_]--[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]]+/gv;

export function contentWords(text: string): Set<string> {
  const words = new Set<string>();
  for (const m of text.toLowerCase().matchAll(WORD)) if (!STOPWORDS.has(m[0])) words.add(m[0]);
  return words;
}

/** Two empty answers are the same answer (1); an empty one against a non-empty one shares nothing (0). */
export function answerSimilarity(a: string, b: string): number {
  const wa = contentWords(a);
  const wb = contentWords(b);
  if (wa.size === 0 && wb.size === 0) return 1;
  let common = 0;
  for (const w of wa) if (wb.has(w)) common += 1;
  return (2 * common) / (wa.size + wb.size);
}
