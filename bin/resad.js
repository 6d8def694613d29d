#!/usr/bin/env node
// In a checkout (src/ and the tsx dev dependency present) the CLI runs from the
// TypeScript sources, so edits take effect without a rebuild; an installed
// package without dev dependencies runs the compiled dist/ (built by `prepare`).
const fs = require('fs');
const path = require('path');

const source = path.join(__dirname, '..', 'src', 'cli', 'main.ts');
let cli;
let useSource = fs.existsSync(source);
if (useSource) {
  try {
    require.resolve('tsx/cjs');
  } catch {
    useSource = false;
  }
}
if (useSource) {
  require('tsx/cjs');
  cli = require(source);
} else {
  cli = require(path.join(__dirname, '..', 'dist', 'cli', 'main.js'));
}
cli.main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
