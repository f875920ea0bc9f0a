import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import ts from "typescript";

const files = execFileSync("git", ["ls-files", process.argv[2] ?? "executor"], { encoding: "utf8" })
  .split("\n")
  .filter((f) => f.endsWith(".ts"));
for (const f of files) {
  const sf = ts.createSourceFile(f, readFileSync(f, "utf8"), ts.ScriptTarget.Latest, true);
  const visit = (n: ts.Node) => {
    if (ts.isFunctionLike(n) && (n as ts.SignatureDeclaration).parameters.length >= 5 && !ts.isFunctionTypeNode(n)) {
      const { line } = sf.getLineAndCharacterOfPosition(n.getStart());
      const name =
        (n as ts.FunctionDeclaration).name?.getText() ??
        (ts.isVariableDeclaration(n.parent) ? n.parent.name.getText() : "<anon>");
      console.log(`${f}:${line + 1} ${name} (${(n as ts.SignatureDeclaration).parameters.length})`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}
