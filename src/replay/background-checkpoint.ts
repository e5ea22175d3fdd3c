/**
 * One checkpoint at a time being made durable (journals synced, then checkpoint.json renamed into
 * place, then the combined book's state committed) while the replay goes on. Its failure is
 * raised by the next `settled()`.
 */
export class BackgroundCheckpoint {
  private running: Promise<void> | null = null;

  start(work: () => Promise<void>): void {
    if (this.running) throw new Error('a checkpoint is still being written');
    const running = work();
    // Raised by `settled()`; until then a failure is not an unhandled rejection.
    running.catch(() => undefined);
    this.running = running;
  }

  /** Waits for the checkpoint being written, raising its failure. */
  async settled(): Promise<void> {
    const running = this.running;
    this.running = null;
    await running;
  }

  /** Waits for it on a path that already fails: nothing may still write into the partial directory. */
  async abandoned(): Promise<void> {
    await this.settled().catch(() => undefined);
  }
}
