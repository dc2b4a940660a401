#!/usr/bin/env bash
# Smoke subset (init, kernels, models, CLI, package) on the other Node lines polymodal supports, each installed from
# the npm registry: node-<platform>-<arch>@N is the package holding the Node binary that the `node@N` package's
# installer fetches; installing it directly needs no install script.  Prints one line per version and exits non-zero
# when a version fails.  Usage: .ci/node-smoke.sh 22 24
set -uo pipefail
cd "$(dirname "$0")/.."
tests=(test/init.test.ts test/relaxed.test.ts test/threads.test.ts test/kernels.test.ts test/models.test.ts test/kernel-table.test.ts test/cli.test.ts test/package.test.ts test/serve.test.ts test/stores.test.ts test/queue.test.ts)
pkg="node-$(node -p process.platform)-$(node -p process.arch)"
status=0
for v in "$@"; do
  d=$(mktemp -d)
  if ! npm install --prefix "$d" --no-save --no-audit --no-fund --silent "$pkg@$v" >/dev/null 2>&1; then
    echo "node $v smoke: could not install $pkg@$v from the npm registry"; status=1; continue
  fi
  bin="$d/node_modules/$pkg/bin"
  out="node$v-results.json"
  PATH="$bin:$PATH" node --version >/dev/null || { echo "node $v smoke: the installed binary does not run"; status=1; continue; }
  PATH="$bin:$PATH" npx vitest run "${tests[@]}" --reporter=dot --reporter=json --outputFile.json="$out" >"node$v-smoke.log" 2>&1 || { status=1; sed -n '/Failed Tests/,/Test Files/p' "node$v-smoke.log" | head -200; tail -30 "node$v-smoke.log"; }
  echo "node $("$bin/node" --version) smoke: $(node scripts/test-summary.mjs "$out")"
  rm -rf "$d"
done
exit $status
