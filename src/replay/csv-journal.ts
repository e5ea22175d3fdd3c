import { closeSync, fsync, ftruncateSync, openSync, write, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { csvCell, fixed, forcesQuotes } from '../artifacts/csv.js';

/** Encoded rows are written (not synced) whenever this many bytes are buffered. */
const BUFFER_BYTES = 256 * 1024;
/** Full buffers kept for reuse once written; more are allocated only while the disk lags. */
const SPARE_BUFFERS = 2;
/** A UTF-16 code unit never takes more than three bytes of UTF-8. */
const MAX_BYTES_PER_CHAR = 3;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const MINUS = 0x2d;
const POINT = 0x2e;
const ZERO = 0x30;
const ASCII_END = 0x80;
const syncToDisk = promisify(fsync);

/** 10^d for every d whose power of ten is an exact double (parsed, since `10 ** d` may be off by an ulp). */
const EXACT_POWERS_OF_TEN = Array.from({ length: 23 }, (_, d) => Number(`1e${d}`));
/**
 * Numbers are written digit by digit only when scaled to a whole number below this. Doubles there
 * are at most 1/8 apart, so every half is a double and at most one whole number reads back as a
 * given scaled value; and the scaled number's high and low halves are small integers.
 */
const SCALED_LIMIT = 2 ** 53 / 10;
/** A scaled number is split into a high part and LOW_DIGITS low digits, each a small integer. */
const LOW_DIGITS = 8;
const LOW_SCALE = 1e8;
/** Veltkamp's splitter for binary64: 2^27 + 1 cuts a double into two 26-bit halves. */
const SPLITTER = 2 ** 27 + 1;
/** Prices and share counts have fewer decimals (mostly four); other numbers go through String. */
const SHORTEST_DECIMALS = 8;
const SHORTEST_SCALE = EXACT_POWERS_OF_TEN[SHORTEST_DECIMALS]!;
/** Below this String switches to exponent notation ("1e-7"). */
const SMALLEST_PLAIN = 1e-6;

/**
 * An append-only CSV that a checkpoint can pin: `flush()` resolves to the byte length written so
 * far, and reopening with that length truncates whatever a killed run appended after the
 * checkpoint. A row is written cell by cell (`text`, `shortestNumber`, `fixedNumber`), then
 * `endRow()`; its bytes are the RFC 4180 record `csvLine` formats from the same cells.
 *
 * A full buffer is written by libuv's thread pool, at its own offset, while rows go on into
 * another: the writes leave the thread that encodes rows (a replay's busiest). A write error is
 * raised by the next `flush()` or `close()`.
 */
export class CsvJournal {
  private readonly fd: number;
  // Each cell is encoded as it is written, numbers digit by digit: a replay writes millions of
  // rows, and building each as a string (a tree of dozens of small strings) and holding rows until
  // a write made every garbage collection copy them.
  private buffer: Buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  private buffered = 0;
  /** Bytes written or handed to a write: where the next buffer goes in the file. */
  private length: number;
  private readonly spareBuffers: Buffer[] = [];
  private writesInFlight = 0;
  /** `flush` calls waiting for the writes in flight to finish. */
  private readonly writesDone: (() => void)[] = [];
  private writeError: Error | null = null;
  private inRow = false;
  /** The cell's column in its row (−1 before the first). */
  private column = -1;
  /** Per column, the last text written there, and its encoded bytes once it came twice running. */
  private readonly repeatedText: (string | undefined)[] = [];
  private readonly repeatedBytes: (Uint8Array | undefined)[] = [];

  constructor(
    readonly path: string,
    header: readonly string[],
    resumeAt: number | null,
  ) {
    if (resumeAt === null) {
      this.fd = openSync(path, 'w');
      this.length = 0;
      for (const name of header) this.text(name);
      this.endRow();
    } else {
      this.fd = openSync(path, 'r+');
      ftruncateSync(this.fd, resumeAt);
      this.length = resumeAt;
    }
  }

  /** A text cell, quoted only when it must be. */
  text(value: string): this {
    this.startCell();
    // A column repeats its text from row to row (the session's date, the book, the reason): its
    // bytes are kept once a value comes twice running, and copied instead of re-encoded.
    const column = this.column;
    if (value === this.repeatedText[column]) {
      const bytes = (this.repeatedBytes[column] ??= Buffer.from(csvCell(value), 'utf8'));
      this.putBytes(bytes);
    } else {
      this.repeatedText[column] = value;
      this.repeatedBytes[column] = undefined;
      this.putText(value);
    }
    return this;
  }

  /** A number cell as `String(value)` writes it. */
  shortestNumber(value: number): this {
    this.startCell();
    const magnitude = Math.abs(value);
    const scaled = Math.round(magnitude * SHORTEST_SCALE);
    // String writes the fewest decimals that read back as the value. If SHORTEST_DECIMALS do, the
    // fewest are those less their trailing zeros: below SCALED_LIMIT only one whole number reads
    // back as the value, so any shorter decimals would be these with zeros to drop.
    if (magnitude >= SMALLEST_PLAIN && scaled < SCALED_LIMIT && scaled / SHORTEST_SCALE === magnitude) {
      let fraction = (scaled - Math.floor(scaled / SHORTEST_SCALE) * SHORTEST_SCALE) | 0;
      let decimals = fraction === 0 ? 0 : SHORTEST_DECIMALS;
      while (decimals > 0 && fraction % 10 === 0) {
        fraction = (fraction / 10) | 0;
        decimals--;
      }
      this.putScaled(value < 0, scaled / EXACT_POWERS_OF_TEN[SHORTEST_DECIMALS - decimals]!, decimals);
    } else {
      this.putText(String(value));
    }
    return this;
  }

  /** A number cell as `fixed(value, decimals)` writes it. */
  fixedNumber(value: number, decimals: number): this {
    this.startCell();
    const scale = EXACT_POWERS_OF_TEN[decimals];
    if (scale !== undefined) {
      const magnitude = Math.abs(value);
      const scaled = magnitude * scale;
      if (scaled < SCALED_LIMIT) {
        // toFixed rounds the exact product half up. Rounding to a double is monotone and every
        // half below SCALED_LIMIT is a double, so the computed product is on the exact one's side
        // of every half, or on the half itself: only then (costs of an odd number of half cents,
        // say) does the exact remainder decide.
        let rounded = Math.round(scaled);
        if (scaled - Math.floor(scaled) === 0.5 && productRemainder(magnitude, scale, scaled) < 0) rounded--;
        // fixed() drops the minus of a value that rounds to zero.
        this.putScaled(rounded > 0 && value < 0, rounded, decimals);
        return this;
      }
    }
    this.putText(fixed(value, decimals));
    return this;
  }

  endRow(): void {
    this.putByte(NEWLINE);
    this.inRow = false;
    this.column = -1;
  }

  private startCell(): void {
    if (this.inRow) this.putByte(COMMA);
    this.inRow = true;
    this.column++;
  }

  private putBytes(bytes: Uint8Array): void {
    if (this.buffered + bytes.length > BUFFER_BYTES) this.write();
    if (bytes.length > BUFFER_BYTES) {
      this.length += writeSync(this.fd, bytes, 0, bytes.length, this.length);
      return;
    }
    const buffer = this.buffer;
    let at = this.buffered;
    for (let k = 0; k < bytes.length; k++) buffer[at++] = bytes[k]!;
    this.buffered = at;
  }

  private putByte(byte: number): void {
    if (this.buffered === BUFFER_BYTES) this.write();
    this.buffer[this.buffered++] = byte;
  }

  /**
   * `scaled / 10^decimals` in full: the digits of the whole number `scaled` (below SCALED_LIMIT)
   * with a point `decimals` places from the right and at least one digit before it, after a minus
   * if `negative`. Written from the last digit back, two digits per integer division: the whole
   * part and the fraction are split off exactly first, so each is a small integer.
   */
  private putScaled(negative: boolean, scaled: number, decimals: number): void {
    const unit = EXACT_POWERS_OF_TEN[decimals]!;
    const whole = exactQuotient(scaled, unit);
    const fraction = scaled - whole * unit;
    const wholeDigits = whole >= LOW_SCALE ? LOW_DIGITS + digitCount(exactQuotient(whole, LOW_SCALE)) : digitCount(whole);
    const bytes = (negative ? 1 : 0) + wholeDigits + (decimals > 0 ? decimals + 1 : 0);
    if (this.buffered + bytes > BUFFER_BYTES) this.write();
    const buffer = this.buffer;
    if (negative) buffer[this.buffered] = MINUS;
    let at = this.buffered + bytes;
    this.buffered = at;
    if (decimals > 0) {
      at = putDigitsBefore(buffer, at, fraction, decimals);
      buffer[--at] = POINT;
    }
    putDigitsBefore(buffer, at, whole, wholeDigits);
  }

  private putText(text: string): void {
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

  /** Hands the buffered rows to a write; returns the file's length with them, for a checkpoint (which `flush` then makes durable). */
  mark(): number {
    this.write();
    return this.length;
  }

  /** Writes buffered rows durably; resolves to the file's length then. */
  async flush(): Promise<number> {
    this.write();
    if (this.writesInFlight > 0) await new Promise<void>((resolve) => this.writesDone.push(resolve));
    if (this.writeError) throw this.writeError;
    // On libuv's thread pool: a replay goes on with its next sessions meanwhile.
    await syncToDisk(this.fd);
    return this.length;
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      closeSync(this.fd);
    }
  }

  /** Hands the buffered bytes to a write at their offset and goes on in a spare buffer. */
  private write(): void {
    if (this.buffered === 0) return;
    const full = this.buffer;
    const bytes = this.buffered;
    const position = this.length;
    this.length += bytes;
    this.buffer = this.spareBuffers.pop() ?? Buffer.allocUnsafe(BUFFER_BYTES);
    this.buffered = 0;
    this.writesInFlight++;
    const finished = (err: Error | null) => {
      this.writeError ??= err;
      if (this.spareBuffers.length < SPARE_BUFFERS) this.spareBuffers.push(full);
      if (--this.writesInFlight === 0) for (const done of this.writesDone.splice(0)) done();
    };
    const writeFrom = (offset: number) =>
      write(this.fd, full, offset, bytes - offset, position + offset, (err, written) => {
        // A regular file takes the whole write unless it fails; a short one goes on where it stopped.
        if (err || offset + written >= bytes) finished(err);
        else writeFrom(offset + written);
      });
    writeFrom(0);
  }
}

/**
 * a × b − product exactly, for product = a × b rounded (Dekker's two-product: the halves' partial
 * products are exact), when nothing overflows or comes near the subnormals.
 */
function productRemainder(a: number, b: number, product: number): number {
  const aHigh = highHalf(a);
  const aLow = a - aHigh;
  const bHigh = highHalf(b);
  const bLow = b - bHigh;
  return aHigh * bHigh - product + aHigh * bLow + aLow * bHigh + aLow * bLow;
}

function highHalf(x: number): number {
  const spread = SPLITTER * x;
  return spread - (spread - x);
}

/** "00", "01", …, "99" as ASCII byte pairs. */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, k) => ZERO + (k % 2 === 0 ? Math.floor(k / 20) : (k >> 1) % 10));

/** ⌊value / unit⌋ of whole numbers below 2^53, exactly: the rounded quotient corrected by its remainder. */
function exactQuotient(value: number, unit: number): number {
  const quotient = Math.floor(value / unit);
  const remainder = value - quotient * unit;
  return remainder < 0 ? quotient - 1 : remainder >= unit ? quotient + 1 : quotient;
}

/**
 * Writes the last `count` decimal digits of the whole number `value` (below 2^53), zero-padded,
 * ending before `end`; returns where they start. Eight digits at a time split off exactly, then
 * two per integer division of what fits in 32 bits.
 */
function putDigitsBefore(buffer: Buffer, end: number, value: number, count: number): number {
  let at = end;
  let wide = value;
  let left = count;
  while (left > LOW_DIGITS) {
    const high = exactQuotient(wide, LOW_SCALE);
    at = putDigitsBefore(buffer, at, wide - high * LOW_SCALE, LOW_DIGITS);
    wide = high;
    left -= LOW_DIGITS;
  }
  let rest = wide | 0;
  while (left >= 2) {
    const next = (rest / 100) | 0;
    const pair = (rest - next * 100) << 1;
    buffer[--at] = DIGIT_PAIRS[pair + 1]!;
    buffer[--at] = DIGIT_PAIRS[pair]!;
    rest = next;
    left -= 2;
  }
  if (left === 1) buffer[--at] = ZERO + (rest - ((rest / 10) | 0) * 10);
  return at;
}

/** Decimal digits of a whole number below 10^9. */
function digitCount(value: number): number {
  let count = 1;
  while (value >= EXACT_POWERS_OF_TEN[count]!) count++;
  return count;
}
