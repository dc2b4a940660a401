// One write at a time, in arrival order: each task starts when the one before it has settled (a failed write fails
// its own caller only and does not stop the next).  The stores' writes and the service's index writes use it.
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => T | Promise<T>): Promise<T> {
    const p = this.tail.then(task);
    this.tail = p.catch(() => {});
    return p;
  }

  /** Resolves once every task queued so far has settled. */
  async idle(): Promise<void> {
    await this.tail;
  }
}
