/**
 * report.html in a real browser: Debian's headless Chromium, driven over the DevTools protocol
 * (CDP) with a minimal WebSocket client on node:http, because Node 20 has no WebSocket without
 * --experimental-websocket and the project adds no npm package for this. The page must load from
 * file:// with no console error and no request besides itself, its SVG charts must have real
 * geometry, and screenshots must show the series' colours where the charts are.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookMetrics, type EquityPoint } from '../src/analytics/performance.js';
import { addDays, weekday } from '../src/core/dates.js';
import { SERIES_COLORS, renderReport } from '../src/report/html-report.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--remote-debugging-port=0',
];
const VIEWPORT = { width: 1280, height: 1000 };
const STARTUP_TIMEOUT_MS = 30_000;
const EVENT_TIMEOUT_MS = 15_000;
const SHUTDOWN_TIMEOUT_MS = 5_000;

// ---------------------------------------------------------------------------------------------
// Minimal WebSocket client (RFC 6455: client frames masked, server frames possibly fragmented).

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

interface CdpEvent {
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly sessionId?: string;
}

/** A reply (with id) or an event (with method), as Chromium sends them. */
interface CdpMessage {
  readonly id?: number;
  readonly result?: unknown;
  readonly error?: { message: string };
  readonly method?: string;
  readonly params?: Record<string, unknown>;
  readonly sessionId?: string;
}

class CdpConnection {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void; method: string }>();
  private readonly listeners = new Set<(event: CdpEvent) => void>();
  private received: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => {
      for (const call of this.pending.values()) call.reject(new Error(`DevTools connection closed before ${call.method} answered`));
      this.pending.clear();
    });
  }

  static open(url: string): Promise<CdpConnection> {
    const { hostname, port, pathname } = new URL(url);
    const key = randomBytes(16).toString('base64');
    return new Promise((resolve, reject) => {
      const upgrade = request({ host: hostname, port, path: pathname, headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' } });
      upgrade.once('upgrade', (response, socket, head) => {
        const accept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
        if (response.headers['sec-websocket-accept'] !== accept) {
          socket.destroy();
          reject(new Error('DevTools answered the WebSocket upgrade with a wrong Sec-WebSocket-Accept'));
          return;
        }
        const connection = new CdpConnection(socket);
        if (head.length > 0) connection.receive(head);
        resolve(connection);
      });
      upgrade.once('response', (response) => reject(new Error(`DevTools refused the WebSocket upgrade: HTTP ${response.statusCode}`)));
      upgrade.once('error', reject);
      upgrade.end();
    });
  }

  send<T>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<T> {
    const id = this.nextId++;
    const message = JSON.stringify(sessionId === undefined ? { id, method, params } : { id, method, params, sessionId });
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: (result) => resolve(result as T), reject, method });
      this.socket.write(maskedFrame(OPCODE.text, Buffer.from(message)));
    });
  }

  /** Calls `listener` for every event until the returned function is called. */
  listen(listener: (event: CdpEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The next event `method` on `sessionId`; subscribe before triggering what fires it. */
  next(method: string, sessionId: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`no ${method} within ${EVENT_TIMEOUT_MS} ms`));
      }, EVENT_TIMEOUT_MS);
      const stop = this.listen((event) => {
        if (event.method !== method || event.sessionId !== sessionId) return;
        clearTimeout(timer);
        stop();
        resolve(event.params);
      });
    });
  }

  close(): void {
    this.socket.end(maskedFrame(OPCODE.close, Buffer.alloc(0)));
  }

  private receive(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    for (;;) {
      const frame = parseFrame(this.received);
      if (frame === undefined) return;
      this.received = this.received.subarray(frame.size);
      if (frame.opcode === OPCODE.ping) this.socket.write(maskedFrame(OPCODE.pong, frame.payload));
      if (frame.opcode === OPCODE.close) this.socket.end();
      if (frame.opcode !== OPCODE.text && frame.opcode !== OPCODE.binary && frame.opcode !== OPCODE.continuation) continue;
      this.fragments.push(frame.payload);
      if (!frame.final) continue;
      const message = Buffer.concat(this.fragments).toString('utf8');
      this.fragments = [];
      this.dispatch(JSON.parse(message) as CdpMessage);
    }
  }

  private dispatch(message: CdpMessage): void {
    if (message.id !== undefined) {
      const call = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error !== undefined) call?.reject(new Error(`${call.method}: ${message.error.message}`));
      else call?.resolve(message.result);
      return;
    }
    if (message.method === undefined) return;
    const event: CdpEvent = { method: message.method, params: message.params ?? {}, ...(message.sessionId === undefined ? {} : { sessionId: message.sessionId }) };
    for (const listener of [...this.listeners]) listener(event);
  }
}

function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? Buffer.from([0x80 | opcode, 0x80 | length]) : length < 0x10000 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (length >= 126 && length < 0x10000) {
    header.writeUInt8(0x80 | opcode, 0);
    header.writeUInt8(0x80 | 126, 1);
    header.writeUInt16BE(length, 2);
  } else if (length >= 0x10000) {
    header.writeUInt8(0x80 | opcode, 0);
    header.writeUInt8(0x80 | 127, 1);
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  const masked = Buffer.alloc(length);
  for (let i = 0; i < length; i++) masked[i] = payload[i]! ^ mask[i % 4]!;
  return Buffer.concat([header, mask, masked]);
}

/** One complete frame at the start of `data`, or undefined while more bytes are needed. */
function parseFrame(data: Buffer): { final: boolean; opcode: number; payload: Buffer; size: number } | undefined {
  if (data.length < 2) return undefined;
  const final = (data[0]! & 0x80) !== 0;
  const opcode = data[0]! & 0x0f;
  const masked = (data[1]! & 0x80) !== 0;
  let length = data[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (data.length < 4) return undefined;
    length = data.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (data.length < 10) return undefined;
    length = Number(data.readBigUInt64BE(2));
    offset = 10;
  }
  const mask = masked ? data.subarray(offset, offset + 4) : undefined;
  if (masked) offset += 4;
  if (data.length < offset + length) return undefined;
  const payload = Buffer.from(data.subarray(offset, offset + length));
  if (mask !== undefined) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i % 4]!;
  return { final, opcode, payload, size: offset + length };
}

// ---------------------------------------------------------------------------------------------
// Chromium process and page helpers.

interface Browser {
  readonly process: ChildProcess;
  readonly cdp: CdpConnection;
}

async function launchChromium(profileDir: string): Promise<Browser> {
  const child = spawn(CHROMIUM, [...CHROMIUM_FLAGS, `--user-data-dir=${profileDir}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`Chromium printed no DevTools endpoint within ${STARTUP_TIMEOUT_MS} ms:\n${stderr}`)), STARTUP_TIMEOUT_MS);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const found = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (found !== null) {
        clearTimeout(timer);
        resolve(found[1]!);
      }
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === 'ENOENT'
          ? new Error(`The report's browser test needs Chromium at ${CHROMIUM}: install it (\`apt-get install chromium\`) or set CHROMIUM_PATH.`)
          : err,
      );
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`Chromium exited (${code ?? signal}) before listening:\n${stderr}`));
    });
  });
  return { process: child, cdp: await CdpConnection.open(endpoint) };
}

async function closeChromium(browser: Browser): Promise<void> {
  const { process: child, cdp } = browser;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  // Browser.close may take the connection down before it answers; the exit is what counts.
  cdp.send('Browser.close').catch(() => undefined);
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), SHUTDOWN_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
  cdp.close();
}

interface LoadedPage {
  readonly sessionId: string;
  /** Console errors, uncaught exceptions and browser log errors (CSP violations, failed loads). */
  readonly errors: string[];
  /** Every URL the page requested. */
  readonly requests: string[];
}

/** Opens `url` in a fresh tab and waits for its load event, recording what went wrong meanwhile. */
async function loadPage(cdp: CdpConnection, url: string): Promise<LoadedPage> {
  const { targetId } = await cdp.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await cdp.send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
  const page: LoadedPage = { sessionId, errors: [], requests: [] };
  cdp.listen((event) => {
    if (event.sessionId !== sessionId) return;
    if (event.method === 'Runtime.consoleAPICalled') {
      const call = event.params as { type: string; args: { value?: unknown; description?: string }[] };
      if (call.type === 'error' || call.type === 'assert') page.errors.push(`console.${call.type}: ${call.args.map((a) => String(a.value ?? a.description)).join(' ')}`);
    }
    if (event.method === 'Runtime.exceptionThrown') {
      const { exceptionDetails } = event.params as { exceptionDetails: { text: string; exception?: { description?: string } } };
      page.errors.push(`exception: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    }
    if (event.method === 'Log.entryAdded') {
      const { entry } = event.params as { entry: { level: string; source: string; text: string; url?: string } };
      if (entry.level === 'error') page.errors.push(`${entry.source}: ${entry.text}${entry.url === undefined ? '' : ` (${entry.url})`}`);
    }
    if (event.method === 'Network.requestWillBeSent') page.requests.push((event.params as { request: { url: string } }).request.url);
  });
  for (const domain of ['Page', 'Runtime', 'Log', 'Network']) await cdp.send(`${domain}.enable`, {}, sessionId);
  await cdp.send('Emulation.setDeviceMetricsOverride', { ...VIEWPORT, deviceScaleFactor: 1, mobile: false }, sessionId);
  const loaded = cdp.next('Page.loadEventFired', sessionId);
  await cdp.send('Page.navigate', { url }, sessionId);
  await loaded;
  return page;
}

async function evaluate<T>(cdp: CdpConnection, sessionId: string, expression: string): Promise<T> {
  const reply = await cdp.send<{ result: { value: T }; exceptionDetails?: { text: string } }>('Runtime.evaluate', { expression, returnByValue: true }, sessionId);
  if (reply.exceptionDetails !== undefined) throw new Error(`evaluating in the page failed: ${reply.exceptionDetails.text}`);
  return reply.result.value;
}

interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** PNG of the viewport, or of a page region (CSS pixels, document coordinates) when `clip` is given. */
async function screenshot(cdp: CdpConnection, sessionId: string, clip?: Rect): Promise<Image> {
  const params = clip === undefined ? { format: 'png' } : { format: 'png', captureBeyondViewport: true, clip: { ...clip, scale: 1 } };
  const { data } = await cdp.send<{ data: string }>('Page.captureScreenshot', params, sessionId);
  return decodePng(Buffer.from(data, 'base64'));
}

// ---------------------------------------------------------------------------------------------
// PNG decoding (8-bit RGB or RGBA, non-interlaced: what Chromium writes) and pixel statistics.

interface Image {
  readonly width: number;
  readonly height: number;
  /** RGB triplets, row-major. */
  readonly rgb: Uint8Array;
}

function decodePng(png: Buffer): Image {
  if (!png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) throw new Error('not a PNG');
  let width = 0;
  let height = 0;
  let channels = 0;
  const compressed: Buffer[] = [];
  for (let offset = 8; offset < png.length; ) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [bitDepth, colorType, , , interlace] = [body[8], body[9], body[10], body[11], body[12]];
      if (bitDepth !== 8 || (colorType !== 2 && colorType !== 6) || interlace !== 0) throw new Error(`unsupported PNG: depth ${bitDepth}, colour type ${colorType}, interlace ${interlace}`);
      channels = colorType === 6 ? 4 : 3;
    } else if (type === 'IDAT') {
      compressed.push(body);
    }
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(compressed));
  const stride = width * channels;
  const pixels = new Uint8Array(height * stride);
  for (let row = 0; row < height; row++) {
    const filter = raw[row * (stride + 1)]!;
    const line = raw.subarray(row * (stride + 1) + 1, (row + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const left = i >= channels ? pixels[row * stride + i - channels]! : 0;
      const up = row > 0 ? pixels[(row - 1) * stride + i]! : 0;
      const upLeft = row > 0 && i >= channels ? pixels[(row - 1) * stride + i - channels]! : 0;
      pixels[row * stride + i] = (line[i]! + unfilter(filter, left, up, upLeft)) & 0xff;
    }
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) rgb.set(pixels.subarray(p * channels, p * channels + 3), p * 3);
  return { width, height, rgb };
}

function unfilter(filter: number, left: number, up: number, upLeft: number): number {
  switch (filter) {
    case 0:
      return 0;
    case 1:
      return left;
    case 2:
      return up;
    case 3:
      return Math.floor((left + up) / 2);
    case 4: {
      const estimate = left + up - upLeft;
      const [toLeft, toUp, toUpLeft] = [Math.abs(estimate - left), Math.abs(estimate - up), Math.abs(estimate - upLeft)];
      if (toLeft <= toUp && toLeft <= toUpLeft) return left;
      return toUp <= toUpLeft ? up : upLeft;
    }
    default:
      throw new Error(`unknown PNG filter ${filter}`);
  }
}

/** Share of pixels that are not (near) white, and the standard deviation of luminance. */
function inkStatistics(image: Image): { inked: number; luminanceStd: number } {
  const count = image.width * image.height;
  let inked = 0;
  let sum = 0;
  let sumSquares = 0;
  for (let p = 0; p < count; p++) {
    const [r, g, b] = [image.rgb[p * 3]!, image.rgb[p * 3 + 1]!, image.rgb[p * 3 + 2]!];
    if (r < 245 || g < 245 || b < 245) inked++;
    const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    sum += luminance;
    sumSquares += luminance * luminance;
  }
  return { inked: inked / count, luminanceStd: Math.sqrt(sumSquares / count - (sum / count) ** 2) };
}

/** Pixels within `tolerance` (Euclidean RGB) of the hex colour. */
function pixelsNear(image: Image, hex: string, tolerance = 40): number {
  const target = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let near = 0;
  for (let p = 0; p < image.width * image.height; p++) {
    const distance = Math.hypot(image.rgb[p * 3]! - target[0]!, image.rgb[p * 3 + 1]! - target[1]!, image.rgb[p * 3 + 2]! - target[2]!);
    if (distance <= tolerance) near++;
  }
  return near;
}

// ---------------------------------------------------------------------------------------------
// The report under test: two years, the combined book and two strategies (one with a name that
// would be markup if it were not escaped).

const BOOK_NAMES = ['combined', 'risk4', '<b>momentum</b> & co'];

function syntheticCurve(sessions: number, drift: number, wobble: number): EquityPoint[] {
  const points: EquityPoint[] = [];
  let equity = 1_000_000;
  for (let date = '2022-01-03'; points.length < sessions; date = addDays(date, 1)) {
    if (weekday(date) === 0 || weekday(date) === 6) continue;
    const i = points.length;
    if (i > 0) equity *= 1 + drift + wobble * Math.sin(i * 0.37) * Math.cos(i * 0.11);
    points.push({ date, equity, turnover: 0.04, costs: 45, gross: 1.3, net: 0.1 });
  }
  return points;
}

function reportHtml(): string {
  const books = BOOK_NAMES.map((name, k) => {
    const curve = syntheticCurve(504, 0.0003 * (k + 1), 0.01 + 0.004 * k);
    return { name, curve, metrics: bookMetrics(name, curve) };
  });
  const last = books[0]!.curve[books[0]!.curve.length - 1]!.date;
  return renderReport({ title: 'Replay in Chromium', generatedFor: { from: '2022-01-03', to: last, config: 'config/multi.yaml' }, books });
}

interface ChartGeometry {
  readonly title: string;
  readonly box: Rect;
  readonly paths: { readonly stroke: string; readonly length: number; readonly width: number; readonly height: number }[];
}

const CHART_GEOMETRY = `[...document.querySelectorAll('svg.chart')].map((svg) => {
  const r = svg.getBoundingClientRect();
  return {
    title: svg.querySelector('title').textContent,
    box: { x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height },
    paths: [...svg.querySelectorAll('path.series')].map((path) => {
      const b = path.getBBox();
      return { stroke: path.getAttribute('stroke'), length: path.getTotalLength(), width: b.width, height: b.height };
    }),
  };
})`;

describe('report.html in headless Chromium', () => {
  let workDir: string;
  let browser: Browser | undefined;
  let page: LoadedPage;
  let charts: ChartGeometry[];

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'kairos-report-browser-'));
    const reportPath = join(workDir, 'report.html');
    await writeFile(reportPath, reportHtml());
    browser = await launchChromium(join(workDir, 'profile'));
    page = await loadPage(browser.cdp, pathToFileURL(reportPath).href);
    charts = await evaluate<ChartGeometry[]>(browser.cdp, page.sessionId, CHART_GEOMETRY);
  });

  afterAll(async () => {
    if (browser !== undefined) await closeChromium(browser);
    await rm(workDir, { recursive: true, force: true });
  });

  it('loads from file:// with no console error and requests nothing but itself', async () => {
    expect(page.errors).toEqual([]);
    expect(page.requests).toEqual([expect.stringMatching(/^file:\/\/.*\/report\.html$/)]);
    expect(await evaluate<number>(browser!.cdp, page.sessionId, `performance.getEntriesByType('resource').length`)).toBe(0);
  });

  it('shows escaped book names as text, not markup', async () => {
    const bold = await evaluate<number>(browser!.cdp, page.sessionId, `document.querySelectorAll('b').length`);
    const text = await evaluate<string>(browser!.cdp, page.sessionId, `document.querySelector('table.comparison').innerText`);
    expect(bold).toBe(0);
    expect(text).toContain('<b>momentum</b> & co');
  });

  it('lays out the equity chart and one drawdown chart per book, each with a drawn, non-degenerate line', () => {
    expect(charts.map((c) => c.title)).toEqual(['Equity of every book (log scale)', ...BOOK_NAMES.map((name) => `Drawdown of ${name}`)]);
    expect(charts[0]!.paths.map((p) => p.stroke)).toEqual(BOOK_NAMES.map((_, k) => SERIES_COLORS[k]));
    for (const chart of charts) {
      expect(chart.box.width).toBeGreaterThan(600);
      expect(chart.box.height).toBeGreaterThan(100);
      for (const path of chart.paths) {
        expect(path.length).toBeGreaterThan(500);
        expect(path.width).toBeGreaterThan(500);
        expect(path.height).toBeGreaterThan(10);
      }
    }
  });

  it('paints a non-blank page, and every series colour inside its chart', async () => {
    const viewport = await screenshot(browser!.cdp, page.sessionId);
    expect([viewport.width, viewport.height]).toEqual([VIEWPORT.width, VIEWPORT.height]);
    const stats = inkStatistics(viewport);
    expect(stats.inked).toBeGreaterThan(0.02);
    expect(stats.luminanceStd).toBeGreaterThan(10);

    for (const [index, chart] of charts.entries()) {
      const image = await screenshot(browser!.cdp, page.sessionId, chart.box);
      expect(inkStatistics(image).inked).toBeGreaterThan(0.01);
      for (const path of chart.paths) expect(pixelsNear(image, path.stroke), `${path.stroke} in chart ${index}`).toBeGreaterThan(50);
    }
  });

  it('does notice console errors, exceptions and failed loads (the harness is not blind)', async () => {
    const brokenPath = join(workDir, 'broken.html');
    await writeFile(brokenPath, `<!doctype html><body><img src="missing.png"><script>console.error('planted error'); throw new Error('planted exception');</script></body>`);
    const broken = await loadPage(browser!.cdp, pathToFileURL(brokenPath).href);
    expect(broken.errors).toEqual(
      expect.arrayContaining([expect.stringContaining('planted error'), expect.stringContaining('planted exception'), expect.stringMatching(/missing\.png/)]),
    );
  });
});
