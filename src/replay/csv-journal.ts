import { closeSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { csvLine } from '../artifacts/csv.js';

/** Encoded rows are written (not synced) whenever this many bytes are buffered. */
const BUFFER_BYTES = 256 * 1024;
/** A UTF-16 code unit never takes more than three bytes of UTF-8. */
const MAX_BYTES_PER_CHAR = 3;

/**
 * An append-only CSV that a checkpoint can pin: `flush()` returns the byte length written so far,
 * and reopening with that length truncates whatever a killed run appended after the checkpoint.
 */
export class CsvJournal {
  private readonly fd: number;
  // Each row is encoded as it is appended: rows held as strings until a write survived garbage
  // collections (a row is a tree of dozens of small strings) and made every collection copy them.
  private readonly buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  private buffered = 0;
  private length: number;

  constructor(
    readonly path: string,
    header: readonly string[],
    resumeAt: number | null,
  ) {
    if (resumeAt === null) {
      this.fd = openSync(path, 'w');
      this.length = 0;
      this.append(header);
    } else {
      this.fd = openSync(path, 'r+');
      ftruncateSync(this.fd, resumeAt);
      this.length = resumeAt;
    }
  }

  append(row: readonly (string | number | null)[]): void {
    const line = csvLine(row);
    if (this.buffered + line.length * MAX_BYTES_PER_CHAR > BUFFER_BYTES) {
      this.write();
      if (line.length * MAX_BYTES_PER_CHAR > BUFFER_BYTES) {
        this.length += writeSync(this.fd, line, this.length);
        return;
      }
    }
    this.buffered += this.buffer.write(line, this.buffered, 'utf8');
  }

  /** Writes buffered rows durably; returns the file's length for the checkpoint. */
  flush(): number {
    this.write();
    fsyncSync(this.fd);
    return this.length;
  }

  private write(): void {
    let offset = 0;
    while (offset < this.buffered) offset += writeSync(this.fd, this.buffer, offset, this.buffered - offset, this.length + offset);
    this.length += this.buffered;
    this.buffered = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
