import { closeSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { csvCell, forcesQuotes } from '../artifacts/csv.js';

/** Encoded rows are written (not synced) whenever this many bytes are buffered. */
const BUFFER_BYTES = 256 * 1024;
/** A UTF-16 code unit never takes more than three bytes of UTF-8. */
const MAX_BYTES_PER_CHAR = 3;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const ASCII_END = 0x80;

/**
 * An append-only CSV that a checkpoint can pin: `flush()` returns the byte length written so far,
 * and reopening with that length truncates whatever a killed run appended after the checkpoint.
 * Rows are RFC 4180 records exactly as `csvLine` formats them.
 */
export class CsvJournal {
  private readonly fd: number;
  // Each cell is encoded as it is appended, plain ASCII byte by byte: a replay writes millions of
  // rows, and building each as a string (a tree of dozens of small strings) and holding rows until
  // a write made every garbage collection copy them.
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
    for (let k = 0; k < row.length; k++) {
      if (k > 0) this.putByte(COMMA);
      const cell = row[k]!;
      if (cell !== null) this.putCell(typeof cell === 'number' ? String(cell) : cell);
    }
    this.putByte(NEWLINE);
  }

  private putByte(byte: number): void {
    if (this.buffered === BUFFER_BYTES) this.write();
    this.buffer[this.buffered++] = byte;
  }

  private putCell(text: string): void {
    if (this.buffered + text.length > BUFFER_BYTES) this.write();
    if (text.length <= BUFFER_BYTES) {
      const start = this.buffered;
      let k = 0;
      for (; k < text.length; k++) {
        const code = text.charCodeAt(k);
        if (code >= ASCII_END || forcesQuotes(code)) break;
        this.buffer[start + k] = code;
      }
      if (k === text.length) {
        this.buffered = start + k;
        return;
      }
    }
    // Quoted or non-ASCII: rare (names, notes), so encoded the general way.
    const encoded = csvCell(text);
    if (this.buffered + encoded.length * MAX_BYTES_PER_CHAR > BUFFER_BYTES) {
      this.write();
      if (encoded.length * MAX_BYTES_PER_CHAR > BUFFER_BYTES) {
        this.length += writeSync(this.fd, encoded, this.length);
        return;
      }
    }
    this.buffered += this.buffer.write(encoded, this.buffered, 'utf8');
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
