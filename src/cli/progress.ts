// A progress bar on stderr: redrawn in place on a terminal (never wider than it, so it does not wrap), a line every
// 10% otherwise (CI logs stay short).  Warnings go through log(), which prints them on a line of their own and
// redraws the bar under them.
export class Progress {
  private last = -1;
  private drawn = "";
  private readonly t0 = Date.now();
  constructor(
    readonly total: number,
    readonly label: string,
    readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  tick(done: number, note = ""): void {
    const frac = this.total ? done / this.total : 1;
    if (this.stream.isTTY) {
      const cols = Math.max(20, this.stream.columns || 80) - 1;
      const rate = done / Math.max(1e-3, (Date.now() - this.t0) / 1000);
      const counts = ` ${done}/${this.total} ${rate.toFixed(1)}/s`;
      const w = Math.max(5, Math.min(30, cols - this.label.length - counts.length - 3));
      const fill = Math.round(frac * w);
      const line = `${this.label} [${"#".repeat(fill)}${".".repeat(w - fill)}]${counts}`;
      const room = cols - line.length - 1;
      this.drawn = (
        room > 3 ? `${line} ${note.length > room ? "…" + note.slice(note.length - room + 1) : note}` : line
      ).slice(0, cols);
      this.stream.write(`\r\x1b[K${this.drawn}`);
    } else {
      const step = Math.floor(frac * 10);
      if (step !== this.last) {
        this.last = step;
        this.stream.write(`${this.label}: ${done}/${this.total}\n`);
      }
    }
  }

  /** A message on its own line, above the bar. */
  log(msg: string): void {
    if (this.stream.isTTY && this.drawn) this.stream.write(`\r\x1b[K${msg}\n${this.drawn}`);
    else this.stream.write(`${msg}\n`);
  }

  done(): void {
    if (this.stream.isTTY && this.drawn) this.stream.write("\n");
    this.drawn = "";
  }
}
