// Side-by-side timing: every peer runs once per round, rounds interleave peers, so a noisy neighbour hits all
// of them alike.  Reports the median and the best of the rounds; ratios use the medians.
export async function measure(peers, { rounds = 9, reps = 1 } = {}) {
  const names = Object.keys(peers);
  for (const n of names) for (let i = 0; i < 2; i++) await peers[n]();
  const times = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const n of names) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) await peers[n]();
      times[n].push((performance.now() - t0) / reps);
    }
  }
  return Object.fromEntries(
    names.map((n) => {
      const t = times[n].slice().sort((a, b) => a - b);
      return [n, { median: t[Math.floor(t.length / 2)], best: t[0] }];
    }),
  );
}

export function report(title, res, { flops = 0, base, unit = "" } = {}) {
  const names = Object.keys(res);
  const ref = res[base ?? names[0]].median;
  console.log(`\n${title}`);
  for (const n of names) {
    const { median, best } = res[n];
    const rate = flops ? `${(flops / median / 1e6).toFixed(1).padStart(6)} GFLOP/s` : "";
    const ratio = n === (base ?? names[0]) ? "   (base)" : `  ${(median / ref).toFixed(2)}x the base's time`;
    console.log(
      `  ${n.padEnd(44)} ${median.toFixed(3).padStart(9)} ms  (best ${best.toFixed(3)})  ${rate}${unit}${ratio}`,
    );
  }
}
