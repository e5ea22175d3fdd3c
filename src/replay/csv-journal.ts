import { closeSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { csvLine } from '../artifacts/csv.js';

/**
 * An append-only CSV that a checkpoint can pin: `flush()` returns the byte length written so far,
 * and reopening with that length truncates whatever a killed run appended after the checkpoint.
 */
export class CsvJournal {
  private readonly fd: number;
  private pending: string[] = [];
  private length: number;

  constructor(
    readonly path: string,
    header: readonly string[],
    resumeAt: number | null,
  ) {
    if (resumeAt === null) {
      this.fd = openSync(path, 'w');
      const head = csvLine(header);
      writeSync(this.fd, head);
      this.length = Buffer.byteLength(head);
    } else {
      this.fd = openSync(path, 'r+');
      ftruncateSync(this.fd, resumeAt);
      this.length = resumeAt;
    }
  }

  append(row: readonly (string | number | null)[]): void {
    this.pending.push(csvLine(row));
  }

  /** Writes buffered rows durably; returns the file's length for the checkpoint. */
  flush(): number {
    if (this.pending.length > 0) {
      const chunk = this.pending.join('');
      writeSync(this.fd, chunk, this.length);
      this.length += Buffer.byteLength(chunk);
      this.pending = [];
    }
    fsyncSync(this.fd);
    return this.length;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
