import { describe, expect, it } from "vitest";
import { answerSimilarity, contentWords } from "../../src/consensus.ts";

describe("answerSimilarity (Dice over content words)", () => {
  it("ignores order, case, punctuation, repetition and function words", () => {
    expect(answerSimilarity("Created hello.txt", "hello.txt was created, created!")).toBe(1);
    expect([...contentWords("The bug is in parse()")]).toEqual(["bug", "parse"]);
  });

  it("is 2·common / (|A| + |B|)", () => {
    // {done, created, hello, txt} vs {created, hello, txt}: 2·3 / 7
    expect(answerSimilarity("Done: created hello.txt", "I created hello.txt")).toBeCloseTo(6 / 7, 10);
  });

  it("unrelated answers score 0; two empty answers are the same; empty vs not shares nothing", () => {
    expect(answerSimilarity("The bug is in parse()", "Network timeouts cause it")).toBe(0);
    expect(answerSimilarity("", "  ")).toBe(1);
    expect(answerSimilarity("", "something")).toBe(0);
  });

  it("counts words in any script, one word per Han or kana character", () => {
    expect(answerSimilarity("Всё готово", "Ошибка сети")).toBe(0);
    expect(answerSimilarity("Всё готово", "готово всё")).toBe(1);
    expect([...contentWords("修复了解析错误")]).toHaveLength(7);
    expect(answerSimilarity("修复了解析错误", "解析错误已修复")).toBeGreaterThan(0.8);
  });
});
