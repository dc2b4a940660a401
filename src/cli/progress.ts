// A progress bar on stderr: redrawn in place on a terminal, a line every 10% otherwise (CI logs stay short).
export class Progress {
  private last = -1;
  private readonly t0 = Date.now();
  constructor(readonly total: number, readonly label: string, readonly stream: NodeJS.WriteStream = process.stderr) {}
  tick(done: number, note = ""): void {
    const frac = this.total ? done / this.total : 1;
    if (this.stream.isTTY) {
      const w = 30, fill = Math.round(frac * w);
      const rate = done / Math.max(1e-3, (Date.now() - this.t0) / 1000);
      this.stream.write(`\r${this.label} [${"#".repeat(fill)}${".".repeat(w - fill)}] ${done}/${this.total} ${rate.toFixed(1)}/s ${note.slice(0, 40).padEnd(40)}`);
    } else {
      const step = Math.floor(frac * 10);
      if (step !== this.last) { this.last = step; this.stream.write(`${this.label}: ${done}/${this.total}\n`); }
    }
  }
  done(): void {
    if (this.stream.isTTY) this.stream.write("\n");
  }
}
