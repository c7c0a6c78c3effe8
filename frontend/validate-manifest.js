// Atlassian's own manifest validation (what `forge lint` and `forge deploy` run), offline:
// node validate-manifest.js <app folder>  → prints {success, errors} as JSON; exit 1 if invalid.
"use strict";
const path = require("path");
const { validate } = require("@forge/manifest");

const folder = path.resolve(process.argv[2] || ".");
process.chdir(folder); // resource paths are relative to the app folder
validate(false, path.join(folder, "manifest.yml")).then(
  (result) => {
    const errors = (result.errors || []).map((e) => ({
      message: e.message, level: e.level, line: e.line, column: e.column, reference: e.reference,
    }));
    process.stdout.write(JSON.stringify({ success: !!result.success, errors }) + "\n");
    process.exit(result.success ? 0 : 1);
  },
  (error) => {
    process.stderr.write(String((error && error.stack) || error) + "\n");
    process.exit(2);
  },
);
