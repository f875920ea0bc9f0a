import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkFile, readDeclared, type Violation } from "./layers.ts";

const root = path.resolve(import.meta.dirname, "..", "..");
const declared = readDeclared(root);

function trackedSources(): string[] {
  const out = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts", "*.mjs"], {
    cwd: root,
    encoding: "utf8",
  });
  return out.split("\n").filter((f) => f && !f.includes("node_modules/") && !f.endsWith(".d.ts"));
}

describe("layers: imports only point down (docs/CONTRIBUTING.md)", () => {
  it("no file in the repository breaks a layer or imports an undeclared package", () => {
    const violations: Violation[] = trackedSources().flatMap((file) =>
      checkFile(file, readFileSync(path.join(root, file), "utf8"), declared),
    );
    expect(violations).toEqual([]);
  });

  it("the check catches an upward import, an import outside the layers and an undeclared package", () => {
    const none = () => new Set<string>();
    expect(checkFile("workflows/x.ts", 'import { log } from "../worker/log.ts";', none)).toMatchObject([
      { why: expect.stringContaining("workflows may not import worker") },
    ]);
    expect(checkFile("core/x.ts", 'export { a } from "../schema/index.ts";', none)).toHaveLength(1);
    expect(checkFile("cli/src/x.ts", 'import { z } from "zod";', none)).toMatchObject([
      { why: "cli/package.json does not declare 'zod'" },
    ]);
    expect(checkFile("executor/src/x.ts", 'const m = await import("../../test/mock.ts");', none)).toHaveLength(1);
    expect(checkFile("worker/x.ts", 'import { a } from "../workflows/a.ts";\nimport "node:fs";', none)).toEqual([]);
  });
});
