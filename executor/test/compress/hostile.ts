/**
 * fast-check arbitraries for text an adversarial model or repository could put into a diagram:
 * each Mermaid trap on its own, random Unicode (astral planes, lone surrogates, controls), very
 * long runs, and concatenations of all of these.
 */
import fc from "fast-check";

/** Strings that each hit one Mermaid grammar, preprocessing or rendering trap. */
export const TRAPS = [
  "",
  " ",
  '"',
  '"]; end',
  'x"] --> Z["pwned',
  "end",
  "subgraph x",
  "\n%% comment eats the rest",
  "%%{init: {'theme':'dark'}}%%",
  "%%",
  "#quot; #35; #x1F600;",
  "style P fill:#f00;",
  "classDef x fill:#f00",
  "click P call alert()",
  "A --> B",
  "-->|label|",
  "==> -.- ~~~ --o --x <-->",
  "`**markdown**`",
  "$$x^2$$",
  "<b>bold</b><script>alert(1)</script><img src=x onerror=alert(1)>",
  "&amp; &lt; &#34;",
  "{{}}[[()]](( ))>]",
  "|a|b|",
  "a;b; c:::cls",
  '\\n \\" \\',
  "\r\n\t\u000b\u000c",
  "\u0000\u0007\u001b[31m",
  "\u200b\u200e\u202e\u2066\ufeff",
  "\u2028\u2029",
  "\ud800",
  "\udc00 x \ud83d",
  "😀👨‍👩‍👧 中文 العربية ñ",
  "---\ntitle: x\n---",
  "@{ shape: rect }",
  "x".repeat(5000),
  "😀".repeat(300),
];

const trap = fc.constantFrom(...TRAPS);
const PUNCTUATION = [..."\"`#%$&<>[]{}()|;:\\/-=.~*!?@^_+,'\n\r\t "];

/** Anything a hostile or broken run could print. */
export const hostile: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: trap },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  // Single UTF-16 code units: lone surrogates, which "binary" never produces.
  {
    weight: 1,
    arbitrary: fc.string({
      unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      maxLength: 60,
    }),
  },
  // Mermaid's punctuation soup: random unicode rarely hits a quote or a `%%` at a line start.
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...PUNCTUATION), maxLength: 80 }) },
  { weight: 2, arbitrary: fc.array(trap, { maxLength: 6 }).map((parts) => parts.join("")) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.string({ maxLength: 40 }), trap, fc.string({ maxLength: 40 })).map(([a, t, b]) => a + t + b),
  },
);

/** A non-empty hostile path (git never reports an empty one). */
export const hostilePath: fc.Arbitrary<string> = hostile.map((s) => (s === "" ? "x" : s));
