// Prints vitest's JSON report as one plain closing line: "tests: N passed, N failed[, N skipped]".
// A suite that failed to load counts as a failure, so a broken import never reads as green.
import { readFileSync, existsSync } from "node:fs";

const file = process.argv[2] ?? "test-results.json";
if (!existsSync(file)) {
  console.log("tests: 0 passed, 1 failed");
  process.exit(0);
}
const r = JSON.parse(readFileSync(file, "utf8"));
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
const failed = (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0);
console.log(`tests: ${r.numPassedTests ?? 0} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
