/**
 * One file over HTTP(S) into place, never half-written, resumable.
 *
 * Why each part:
 * - Node's own `http`/`https`, no dependency: weights are downloaded once,
 *   and a package that fetches files is one more thing to trust.
 * - Redirects are followed (at most 10, relative `Location` too): GitHub raw
 *   URLs redirect to Git LFS media, Hugging Face to its CDN.
 * - Bytes go to `dest + '.part'`. A cut connection (reset, early end, or no
 *   byte for `stallTimeoutMs`) is retried with `Range: bytes=N-` from what the
 *   .part holds: a 100 MB file over a flaky link completes instead of
 *   starting over. A server that ignores ranges (200) is started over; 416
 *   means "nothing after N", which is complete only when N is the file's size.
 *   The .part also survives the process, so rerunning the command resumes.
 * - sha256 is computed over the whole file, resumed prefix included, and the
 *   size and hash are checked before the rename to `dest`; a mismatch deletes
 *   the .part (it cannot be resumed into anything right). `dest` only ever
 *   holds a complete, checked file.
 *
 * ```ts
 * await downloadFile(url, '/cache/resnet50-v2-7.onnx', { sha256: '7910...', bytes: 102442452 });
 * await downloadFile(url, dest, { onProgress: (done, total) => bar.update(done, total) });
 * ```
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as path from 'path';
import { pipeline } from 'stream/promises';

export interface DownloadOptions {
  /** Expected sha256 (hex); the file is refused on a mismatch. */
  sha256?: string | null;
  /** Expected size in bytes; the file is refused on a mismatch. */
  bytes?: number | null;
  /** Called as bytes arrive (done includes a resumed prefix; total null while unknown). Replaces the progress line. */
  onProgress?: (done: number, total: number | null) => void;
  /** Progress line label (default "download <file name>"). */
  label?: string;
  /** No progress line or retry notes (also RESAD_QUIET=1). */
  quiet?: boolean;
  /** Where the progress line goes (default stderr). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Retries of a cut connection in a row without new bytes (default 5). */
  retries?: number;
  /** Wait before the first retry, doubled each time, at most 15 s (default 1000 ms). */
  retryDelayMs?: number;
  /** A connection that delivers no byte for this long counts as cut (default 60 s). */
  stallTimeoutMs?: number;
  /** Default 10. */
  maxRedirects?: number;
  /**
   * Last check on the complete, hash-checked file (the .part) before it is
   * renamed to `dest`; throwing refuses it (the .part is deleted).
   */
  verify?: (partFile: string) => void | Promise<void>;
}

export interface DownloadResult {
  path: string;
  /** The URL the bytes finally came from (after redirects). */
  finalUrl: string;
  bytes: number;
  sha256: string;
  /** Bytes a previous .part already held when this call started (0: a fresh download). */
  resumedFrom: number;
  /** HTTP requests made for the body (1 when nothing was cut). */
  attempts: number;
}

/** A failed download; `retryable` when a new attempt may succeed (cut connection, 5xx). */
export class DownloadError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

const DEFAULT_STALL_MS = 60000;
const DEFAULT_RETRIES = 5;
/** Network errors where the same request may well succeed a moment later. */
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET']);

/** Decimal units, as download sizes are usually quoted: 102442452 -> '102.4 MB'. */
export function formatBytes(n: number): string {
  if (n < 1e3) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

/** sha256 (hex) of a whole file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file), async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) hash.update(chunk);
  });
  return hash.digest('hex');
}

/**
 * Byte progress in the style of util/progress.ts: a redrawn line on a
 * terminal, a line every few seconds elsewhere, nothing when quiet.
 */
class ByteProgress {
  private lastPrint = 0;
  private readonly start = Date.now();
  private readonly minIntervalMs: number;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly quiet: boolean,
    /** Bytes already on disk when this run started: not counted in the speed. */
    private readonly startBytes: number,
  ) {
    this.minIntervalMs = stream.isTTY ? 100 : 5000;
  }

  update(done: number, total: number | null, force = false): void {
    const now = Date.now();
    if (this.quiet || (!force && now - this.lastPrint < this.minIntervalMs)) return;
    this.lastPrint = now;
    const secs = (now - this.start) / 1000;
    const rate = secs > 0 ? Math.max(0, done - this.startBytes) / secs : 0;
    const speed = `${(rate / 1e6).toFixed(1)} MB/s`;
    let line: string;
    if (total !== null && total > 0) {
      const frac = Math.min(1, done / total);
      const bar = '#'.repeat(Math.round(frac * 24)).padEnd(24, '.');
      const eta = rate > 0 && frac < 1 ? ` eta ${((total - done) / rate).toFixed(0)}s` : '';
      line = `${this.label} [${bar}] ${formatBytes(done)}/${formatBytes(total)} ${speed}${eta}`;
    } else {
      line = `${this.label} ${formatBytes(done)} ${speed}`;
    }
    const finished = total !== null && done >= total;
    if (this.stream.isTTY) this.stream.write(`\r${line}\x1b[K${finished ? '\n' : ''}`);
    else this.stream.write(line + '\n');
  }

  note(text: string): void {
    if (this.quiet) return;
    this.stream.write(`${this.stream.isTTY ? '\r\x1b[K' : ''}${text}\n`);
  }
}

function partSize(part: string): number {
  try {
    return fs.statSync(part).size;
  } catch {
    return 0;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

interface OpenResponse {
  res: http.IncomingMessage;
  url: string;
  /** Whether the stall timer fired (the body error is then a generic "aborted"). */
  stalled: () => boolean;
}

/** GET `url`, following redirects; resolves with the first non-redirect response. */
async function openFollowing(start: string, headers: Record<string, string>, options: { stallMs: number; maxRedirects: number }): Promise<OpenResponse> {
  let url = start;
  for (let hop = 0; ; hop++) {
    const got = await openOnce(url, headers, options.stallMs);
    const status = got.res.statusCode ?? 0;
    if (![301, 302, 303, 307, 308].includes(status)) return got;
    got.res.resume();
    const location = got.res.headers.location;
    if (!location) throw new DownloadError(`${status} redirect without a Location header: ${url}`, false, status);
    if (hop + 1 > options.maxRedirects) throw new DownloadError(`more than ${options.maxRedirects} redirects, starting at ${start} (last ${url})`, false, status);
    url = new URL(location, url).toString();
  }
}

function openOnce(url: string, headers: Record<string, string>, stallMs: number): Promise<OpenResponse> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.reject(new DownloadError(`not a URL: ${url}`, false));
  }
  const client = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : null;
  if (!client) return Promise.reject(new DownloadError(`unsupported protocol ${parsed.protocol} in ${url} (http or https only)`, false));
  let stalled = false;
  return new Promise((resolve, reject) => {
    // agent: false: one connection per request, so no idle keep-alive socket outlives the download.
    const req = client.get(parsed, { headers, agent: false });
    req.setTimeout(stallMs, () => {
      stalled = true;
      req.destroy(new DownloadError(`no data for ${Math.round(stallMs / 100) / 10} s from ${url}`, true));
    });
    // Stays attached after the response: a later socket error must not become an unhandled 'error'.
    req.on('error', (err) => {
      if (err instanceof DownloadError) return reject(err);
      const code = errnoCode(err);
      if (code && TRANSIENT_CODES.has(code)) return reject(new DownloadError(`connection to ${url} failed (${code})`, true));
      reject(new DownloadError(`cannot connect to ${url} (${code ?? err.message})`, false));
    });
    req.on('response', (res) => resolve({ res, url, stalled: () => stalled }));
  });
}

/** Parses a Content-Range value: `bytes S-E/T`, or `bytes *\/T` (416). */
function parseContentRange(value: string | undefined): { start: number | null; total: number | null } | null {
  if (!value) return null;
  const m = /^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/i.exec(value.trim());
  if (!m) return null;
  return { start: m[1] !== undefined ? Number(m[1]) : null, total: m[2] === '*' ? null : Number(m[2]) };
}

function httpError(status: number, res: http.IncomingMessage, url: string, start: string): DownloadError {
  const text = res.statusMessage || http.STATUS_CODES[status] || 'HTTP error';
  const via = url === start ? '' : ` (redirected from ${start})`;
  // 408/429/5xx: the server's trouble, often gone a moment later.
  const retryable = status === 408 || status === 429 || status >= 500;
  return new DownloadError(`${status} ${text}: ${url}${via}`, retryable, status);
}

interface AttemptContext {
  url: string;
  part: string;
  expectedBytes: number | null;
  stallMs: number;
  maxRedirects: number;
  report: (done: number, total: number | null) => void;
  finalUrl: string;
  total: number | null;
}

/** One request for what the .part lacks; resolves once the .part holds the whole body. */
async function attempt(ctx: AttemptContext): Promise<void> {
  let have = partSize(ctx.part);
  if (ctx.expectedBytes !== null && have > ctx.expectedBytes) {
    fs.rmSync(ctx.part, { force: true });
    have = 0;
  }
  const headers: Record<string, string> = { 'user-agent': `resad (node ${process.version})`, accept: '*/*' };
  if (have > 0) headers.range = `bytes=${have}-`;
  const { res, url, stalled } = await openFollowing(ctx.url, headers, { stallMs: ctx.stallMs, maxRedirects: ctx.maxRedirects });
  ctx.finalUrl = url;
  const status = res.statusCode ?? 0;
  let append: boolean;
  if (status === 416 && have > 0) {
    res.resume();
    const known = ctx.expectedBytes ?? parseContentRange(res.headers['content-range'])?.total ?? null;
    if (known !== null && have === known) {
      ctx.total = known;
      ctx.report(have, known);
      return;
    }
    fs.rmSync(ctx.part, { force: true });
    throw new DownloadError(`${url} refused the range from byte ${have} (416); starting over`, true, status);
  } else if (status === 206 && have > 0) {
    const range = parseContentRange(res.headers['content-range']);
    if (range?.start !== have) {
      res.destroy();
      fs.rmSync(ctx.part, { force: true });
      throw new DownloadError(`${url} answered the range from byte ${have} with '${res.headers['content-range'] ?? 'no Content-Range'}'; starting over`, true, status);
    }
    append = true;
    ctx.total = range.total ?? ctx.expectedBytes;
  } else if (status === 200) {
    // Also the answer of a server that ignores ranges: the body is the whole file.
    append = false;
    have = 0;
    const length = Number(res.headers['content-length']);
    ctx.total = Number.isFinite(length) && res.headers['content-length'] !== undefined ? length : ctx.expectedBytes;
  } else {
    res.resume();
    throw httpError(status, res, url, ctx.url);
  }

  let done = have;
  ctx.report(done, ctx.total);
  // A roomy write buffer: while the response is paused for the disk, a cut discards what the socket had buffered.
  const out = fs.createWriteStream(ctx.part, { flags: append ? 'a' : 'w', highWaterMark: 4 * 1024 * 1024 });
  // Not stream.pipeline: on a cut it destroys the file stream and drops chunks that had arrived; ending it keeps them for the resume.
  await new Promise<void>((resolve, reject) => {
    let cut: unknown = null;
    let writeError: NodeJS.ErrnoException | null = null;
    const endFile = (): void => {
      if (!out.writableEnded && !out.destroyed) out.end();
    };
    res.on('data', (chunk: Buffer) => {
      done += chunk.length;
      ctx.report(done, ctx.total);
      if (!out.write(chunk)) res.pause();
    });
    out.on('drain', () => res.resume());
    res.on('error', (err) => {
      cut ??= err;
      endFile();
    });
    res.on('end', endFile);
    res.on('close', () => {
      if (!res.complete) cut ??= new Error('connection closed early');
      endFile();
    });
    out.on('error', (err) => {
      writeError = err;
      res.destroy();
    });
    // 'close' comes after every write has landed: the next attempt may take the .part's size as the resume point.
    out.on('close', () => {
      if (writeError) return reject(new DownloadError(`cannot write ${ctx.part}: ${writeError.code ?? writeError.message}`, false));
      if (cut === null) return resolve();
      const why = stalled() ? `no data for ${Math.round(ctx.stallMs / 100) / 10} s` : `connection cut (${errnoCode(cut) ?? (cut instanceof Error ? cut.message : String(cut))})`;
      reject(new DownloadError(`${why} after ${formatBytes(done)} from ${url}`, true));
    });
  });
}

/**
 * Downloads `url` to `dest` (see the module comment). Throws naming the URL:
 * `404 Not Found: <url>`, a hash mismatch with both hashes, or the last
 * network error after the retries (the .part is kept for a rerun then).
 */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const part = `${dest}.part`;
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const expectedBytes = options.bytes ?? null;
  const expectedHash = options.sha256?.toLowerCase() ?? null;
  const retries = options.retries ?? DEFAULT_RETRIES;
  const baseDelay = options.retryDelayMs ?? 1000;
  const resumedFrom = partSize(part);
  const progress = new ByteProgress(
    options.label ?? `download ${path.basename(dest)}`,
    options.stream ?? process.stderr,
    options.quiet ?? process.env.RESAD_QUIET === '1',
    resumedFrom,
  );
  const report = options.onProgress ?? ((done: number, total: number | null) => progress.update(done, total));
  const ctx: AttemptContext = {
    url,
    part,
    expectedBytes,
    stallMs: options.stallTimeoutMs ?? DEFAULT_STALL_MS,
    maxRedirects: options.maxRedirects ?? 10,
    report,
    finalUrl: url,
    total: expectedBytes,
  };
  if (resumedFrom > 0) progress.note(`resuming ${path.basename(dest)} from ${formatBytes(resumedFrom)} (${part})`);

  let attempts = 0;
  let failuresInARow = 0;
  for (;;) {
    attempts++;
    const before = partSize(part);
    try {
      await attempt(ctx);
      break;
    } catch (err) {
      const e = err instanceof DownloadError ? err : new DownloadError(err instanceof Error ? err.message : String(err), false);
      const after = partSize(part);
      const kept = after > 0 ? `; ${formatBytes(after)} kept in ${part}, run again to resume` : '';
      if (!e.retryable) throw new DownloadError(e.message + (e.status === undefined ? kept : ''), false, e.status);
      // A link that keeps delivering bytes gets its full retry budget back after each cut.
      failuresInARow = after > before ? 1 : failuresInARow + 1;
      if (failuresInARow > retries) throw new DownloadError(`download of ${url} failed after ${attempts} attempts: ${e.message}${kept}`, false, e.status);
      progress.note(`${e.message}; retry ${failuresInARow}/${retries}${after > 0 ? `, resuming at ${formatBytes(after)}` : ''}`);
      await sleep(Math.min(15000, baseDelay * 2 ** (failuresInARow - 1)));
    }
  }

  const bytes = partSize(part);
  const sha256 = await sha256File(part);
  if (options.onProgress) options.onProgress(bytes, bytes);
  else progress.update(bytes, bytes, true);
  const sizeWrong = expectedBytes !== null && bytes !== expectedBytes;
  if ((expectedHash !== null && sha256 !== expectedHash) || sizeWrong) {
    fs.rmSync(part, { force: true });
    const size = sizeWrong ? `; size ${bytes} bytes, expected ${expectedBytes}` : '';
    if (expectedHash !== null && sha256 !== expectedHash) {
      throw new DownloadError(`sha256 mismatch for ${url}: expected ${expectedHash}, got ${sha256}${size} (download deleted)`, false);
    }
    throw new DownloadError(`size mismatch for ${url}: got ${bytes} bytes, expected ${expectedBytes} (download deleted)`, false);
  }
  if (options.verify) {
    try {
      await options.verify(part);
    } catch (err) {
      fs.rmSync(part, { force: true });
      throw err;
    }
  }
  try {
    fs.renameSync(part, dest);
  } catch (err) {
    throw new DownloadError(`cannot write ${dest}: ${errnoCode(err) ?? (err as Error).message} (the checked download stays in ${part})`, false);
  }
  return { path: dest, finalUrl: ctx.finalUrl, bytes, sha256, resumedFrom, attempts };
}
