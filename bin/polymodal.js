#!/usr/bin/env node
// the command's bundle (scripts/bundle-cli.mjs): the same code as dist/cli/main.js, loaded as a few files
import { run } from "../dist/cli-bundle/main.js";
await run(process.argv.slice(2));
