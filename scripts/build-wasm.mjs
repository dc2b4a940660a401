// Compiles the kernel module's four builds from the one AssemblyScript source (asconfig.json's targets): exact and
// relaxed SIMD (assembly/madd.ts), each single-thread and threaded.  Runs asc in this process, one target after the
// other, so a failure names its target.
import { main } from "assemblyscript/asc";

for (const target of ["release", "threads", "relaxed", "relaxed-threads"]) {
  const { error, stderr } = await main(["assembly/index.ts", "--config", "asconfig.json", "--target", target]);
  if (error) {
    console.error(`asc --target ${target} failed:\n${stderr.toString()}`);
    process.exit(1);
  }
}
