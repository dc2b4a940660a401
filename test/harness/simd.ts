// Which kernel build this test process runs: the "relaxed" project (vitest.config.ts) sets POLYMODAL_SIMD.  Tests
// that compare this process's values with a child process's (the CLI, the service) need both on the same build, and
// children run the default one, so they run in the default project only.
export const relaxedProject = process.env.POLYMODAL_SIMD === "relaxed";
