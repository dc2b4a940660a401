// Bounded body work per event-loop turn.  Node reads every ready connection in one poll phase; when 200 of them
// carry an upload, the loop parses and decodes all 200 bodies before it reads the next request — a /healthz probe
// behind them waits for the whole batch.  Instead, a body's parse (and the decoding its handler does in the same
// turn) is queued here and run in the check phase after the poll, at most `bytesPerTurn` of bodies per turn (one
// larger body alone), so the loop comes back to its sockets between slices and cheap requests are answered in
// the poll phase ahead of queued uploads.  Work is measured in bytes, not time: the cost of JSON.parse and base64
// decoding is linear in them, and the bound does not depend on how busy the machine is.

interface Job {
  bytes: number;
  run(): void;
  since: number;
}

export class TurnBudget {
  private readonly queue: Job[] = [];
  private head = 0;
  private scheduled = false;

  constructor(private readonly bytesPerTurn: number) {}

  /** Runs `run` in a later turn, after at most bytesPerTurn of earlier queued work per turn. */
  defer(bytes: number, run: () => void): void {
    this.queue.push({ bytes, run, since: performance.now() });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.pump);
    }
  }

  /** How long the oldest queued body has waited (ms; 0 when none waits): the loop's backlog. */
  oldestWaitMs(): number {
    return this.head < this.queue.length ? performance.now() - this.queue[this.head].since : 0;
  }

  private readonly pump = (): void => {
    let spent = 0;
    while (this.head < this.queue.length && (spent === 0 || spent + this.queue[this.head].bytes <= this.bytesPerTurn)) {
      const job = this.queue[this.head++];
      spent += Math.max(1, job.bytes);
      job.run();
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
      this.scheduled = false;
    } else {
      if (this.head > 1024) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      // an immediate set during the check phase runs in the next turn, after its poll phase
      setImmediate(this.pump);
    }
  };
}
