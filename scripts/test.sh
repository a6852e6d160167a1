#!/usr/bin/env bash
# `npm test`: installs what the tests need (idempotently, with progress), builds, runs every
# test (unit and real-component), and ends with a plain "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
say() { printf '[test] %s\n' "$*" >&2; }

bash scripts/install-prereqs.sh || { say "installing prerequisites failed (see above)"; echo "0 passed, 1 failed"; exit 1; }
bash scripts/build-k8s-binaries.sh >/dev/null || { say "building the Kubernetes test binaries failed (see above)"; echo "0 passed, 1 failed"; exit 1; }
say "building the native addon and compiling TypeScript"
npm run build --silent || { say "build (native addon + TypeScript) failed"; echo "0 passed, 1 failed"; exit 1; }

say "type-checking the tests"
npx tsc -p tsconfig.test.json || { say "the tests do not type-check"; echo "0 passed, 1 failed"; exit 1; }

mkdir -p test-results
rm -f test-results/vitest.json
say "running vitest (unit, then real-component e2e)"
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@"
rc=$?
if [ -f test-results/vitest.json ]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync("test-results/vitest.json", "utf8"));
    const failedSuites = r.testResults.filter((s) => s.status === "failed" && s.assertionResults.length === 0).length;
    const failed = r.numFailedTests + failedSuites;
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`${r.numPassedTests} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
    process.exit(failed > 0 || r.numPassedTests === 0 ? 1 : 0);
  ' || rc=1
else
  say "vitest wrote no results"
  echo "0 passed, 1 failed"
  rc=1
fi
exit $rc
