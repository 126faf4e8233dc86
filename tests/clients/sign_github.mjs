#!/usr/bin/env node
// GitHub webhook helpers built on Octokit's own packages (installed by .ci/signal-clients.sh).
//
//   node sign_github.mjs SECRET FILE
//       Prints the X-Hub-Signature-256 value (`sha256=<hex>`) of FILE's bytes, computed by
//       `sign` from @octokit/webhooks-methods.
//   node sign_github.mjs --extract EVENT ACTION OUT.json [N]
//       Writes the first (or N-th, from 0) example payload of EVENT whose `action` is ACTION
//       from @octokit/webhooks-examples to OUT.json, as compact JSON (as GitHub sends it).
//       ACTION `-` picks an example with no `action` field (push, ping, ...).
//
// Packages: $OCTOKIT_METHODS (the @octokit/webhooks-methods folder) and $OCTOKIT_EXAMPLES (its
// api.github.com/index.json); without them, .ci/work/octokit/node_modules in this repository.
//
// `sign` takes a string, not bytes, and HMACs its UTF-8 encoding: FILE is decoded as strict
// UTF-8 with any BOM kept, so the signature is that of its exact bytes; a FILE that is not
// UTF-8 (or is empty: `sign` refuses an empty payload) is an error. Exit 1 on any error.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const octokitModules = resolve(here, "../../.ci/work/octokit/node_modules/@octokit");
const methodsDir = process.env.OCTOKIT_METHODS || join(octokitModules, "webhooks-methods");
const examplesFile =
  process.env.OCTOKIT_EXAMPLES || join(octokitModules, "webhooks-examples/api.github.com/index.json");

function die(message) {
  process.stderr.write(`sign_github.mjs: ${message}\n`);
  process.exit(1);
}

function usage() {
  process.stderr.write(
    "usage: node sign_github.mjs SECRET FILE\n" +
      "       node sign_github.mjs --extract EVENT ACTION|- OUT.json [N]\n",
  );
  process.exit(1);
}

// The package is ESM-only with an `exports` map (no `require` entry): import its Node entry.
async function loadMethods() {
  let pkg;
  try {
    pkg = JSON.parse(readFileSync(join(methodsDir, "package.json"), "utf8"));
  } catch (e) {
    die(`no @octokit/webhooks-methods at ${methodsDir} (run .ci/signal-clients.sh): ${e.message}`);
  }
  const dot = pkg.exports?.["."] ?? {};
  const entry = dot.node?.import ?? dot.default?.import ?? dot.import ?? pkg.module ?? pkg.main;
  if (!entry) die(`cannot find the entry point of ${methodsDir}`);
  return import(pathToFileURL(join(methodsDir, entry)).href);
}

async function signFile(secret, file) {
  const { sign } = await loadMethods();
  let text;
  try {
    const bytes = readFileSync(file);
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (e) {
    die(`${file}: ${e.message}`);
  }
  try {
    process.stdout.write((await sign(secret, text)) + "\n");
  } catch (e) {
    die(e.message);
  }
}

function extract(event, action, out, nth) {
  let definitions;
  try {
    definitions = JSON.parse(readFileSync(examplesFile, "utf8"));
  } catch (e) {
    die(`cannot read the examples file ${examplesFile} (run .ci/signal-clients.sh): ${e.message}`);
  }
  const definition = definitions.find((d) => d.name === event);
  if (!definition) die(`no event ${event}; events: ${definitions.map((d) => d.name).join(" ")}`);
  const matches = definition.examples.filter((ex) =>
    action === "-" ? !("action" in ex) : ex.action === action,
  );
  if (nth >= matches.length) {
    const have = [...new Set(definition.examples.map((ex) => ex.action ?? "-"))].join(" ");
    die(`${event}: ${matches.length} example(s) with action ${action}, wanted #${nth}; examples' actions: ${have}`);
  }
  writeFileSync(out, JSON.stringify(matches[nth]));
}

const args = process.argv.slice(2);
if (args[0] === "--extract") {
  if (args.length < 4 || args.length > 5) usage();
  const nth = args.length === 5 ? Number(args[4]) : 0;
  if (!Number.isInteger(nth) || nth < 0) usage();
  extract(args[1], args[2], args[3], nth);
} else {
  if (args.length !== 2) usage();
  await signFile(args[0], args[1]);
}
