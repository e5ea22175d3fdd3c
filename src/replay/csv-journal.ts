import { closeSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { csvLine } from '../artifacts/csv.js';

/** Buffered rows are written (not synced) once they reach this many characters. */
const WRITE_AFTER_CHARS = 256 * 1024;

/**
 * An append-only CSV that a checkpoint can pin: `flush()` returns the byte length written so far,
 * and reopening with that length truncates whatever a killed run appended after the checkpoint.
 */
export class CsvJournal {
  private readonly fd: number;
  private pending: string[] = [];
  private pendingChars = 0;
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
    const line = csvLine(row);
    this.pending.push(line);
    this.pendingChars += line.length;
    // Rows held until the next checkpoint would survive garbage collections and be copied into the
    // old generation; written now, they die young. Durability still comes only from flush(): a
    // resumed run truncates whatever was written after its checkpoint.
    if (this.pendingChars >= WRITE_AFTER_CHARS) this.write();
  }

  /** Writes buffered rows durably; returns the file's length for the checkpoint. */
  flush(): number {
    this.write();
    fsyncSync(this.fd);
    return this.length;
  }

  private write(): void {
    if (this.pending.length === 0) return;
    const chunk = this.pending.join('');
    writeSync(this.fd, chunk, this.length);
    this.length += Buffer.byteLength(chunk);
    this.pending = [];
    this.pendingChars = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
