/**
 * Claims and locks between processes that share a folder: a claim is a small
 * JSON file (pid, hostname, start time, a random token) that exists only
 * while its owner works on something.
 *
 * Why this design:
 * - Creating the claim is atomic: the owner record is written to a temporary
 *   file first and hard-linked to the claim name, which fails when the name
 *   exists, so exactly one process wins and nobody ever reads a half-written
 *   owner. Where hard links are not supported, `open(..., 'wx')` is the
 *   fallback (a reader then treats an empty claim younger than a few seconds
 *   as being written).
 * - A claim whose owner died must not block forever: on the same host a dead
 *   pid (`process.kill(pid, 0)` says ESRCH) makes it stale at once; on any
 *   host a claim not refreshed for `staleMs` is stale (owners refresh its
 *   mtime from a timer and at natural points such as training epochs).
 * - Taking over a stale claim is atomic too: it is renamed to a unique side
 *   name first (only one contender's rename succeeds), checked to be the
 *   same stale owner, and removed; then the claim is created as usual.
 * - `release` only removes the claim when it still holds the owner's token,
 *   so a process that was (wrongly) judged stale never removes its
 *   successor's claim.
 *
 * ```ts
 * const got = tryClaim('RESULTS/claims/abc.claim');
 * if (got.status === 'claimed') try { work(); } finally { got.claim.release(); }
 * else console.log(`busy: pid ${got.holder.pid}`);
 * withLockSync('RESULTS/results.lock', () => appendRecord(), { what: 'the results store' });
 * ```
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface ClaimOwner {
  pid: number;
  hostname: string;
  /** ISO time the claim was created. */
  startedAt: string;
  token: string;
  /** What the owner is doing (shown to processes that find the claim). */
  purpose: string;
}

export interface ClaimOptions {
  /** A claim not refreshed for this long is stale whatever its pid (default DEFAULT_CLAIM_STALE_MS). */
  staleMs?: number;
  /** Refresh the claim's mtime from a timer this often (default staleMs / 6, at most 60 s; 0: never). */
  heartbeatMs?: number;
  /** Written into the owner record. */
  purpose?: string;
  /**
   * Whether a claim of this very process counts as live (default true: another
   * async task of this process may hold it). Synchronous locks pass false.
   */
  ownPidIsLive?: boolean;
}

/** 6 hours: generous, because a claim may cover a whole training whose epochs are long on a CPU. */
export const DEFAULT_CLAIM_STALE_MS = 6 * 3600 * 1000;
/** An empty claim (creator between create and write, on file systems without hard links) is trusted this long. */
const UNWRITTEN_GRACE_MS = 10000;

export type ClaimAttempt =
  | { status: 'claimed'; claim: Claim; /** The stale owner taken over, and why it was stale. */ tookOver: { owner: ClaimOwner | null; reason: string } | null }
  | { status: 'busy'; holder: ClaimOwner; file: string };

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Whether a process with this pid runs on this host (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errno(err) === 'EPERM';
  }
}

function parseOwner(text: string): ClaimOwner | null {
  try {
    const o = JSON.parse(text) as Partial<ClaimOwner>;
    if (typeof o.pid !== 'number' || typeof o.hostname !== 'string' || typeof o.token !== 'string') return null;
    return { pid: o.pid, hostname: o.hostname, startedAt: String(o.startedAt ?? ''), token: o.token, purpose: String(o.purpose ?? '') };
  } catch {
    return null;
  }
}

/** The owner and mtime of a claim file; null when it does not exist. owner is null when it is empty or unreadable. */
export function readClaim(file: string): { owner: ClaimOwner | null; mtimeMs: number } | null {
  try {
    const st = fs.statSync(file);
    return { owner: parseOwner(fs.readFileSync(file, 'utf8')), mtimeMs: st.mtimeMs };
  } catch (err) {
    if (errno(err) === 'ENOENT') return null;
    throw err;
  }
}

/** Why the claim is stale, or null when its owner may still be working. */
export function staleReason(owner: ClaimOwner | null, mtimeMs: number, options: ClaimOptions = {}): string | null {
  const age = Date.now() - mtimeMs;
  const staleMs = options.staleMs ?? DEFAULT_CLAIM_STALE_MS;
  if (owner === null) return age > UNWRITTEN_GRACE_MS ? `the claim file is empty or not JSON (${Math.round(age / 1000)} s old)` : null;
  if (owner.hostname === os.hostname()) {
    if (owner.pid === process.pid) {
      if (options.ownPidIsLive === false) return `it was left by this process (pid ${owner.pid}) earlier`;
    } else if (!pidAlive(owner.pid)) {
      return `its process ${owner.pid} is no longer running`;
    }
  }
  if (age > staleMs) return `it was not refreshed for ${Math.round(age / 60000)} min (limit ${Math.round(staleMs / 60000)} min)`;
  return null;
}

/** A held claim; refresh it during long work, release it when done (also on errors). */
export class Claim {
  private timer: NodeJS.Timeout | null = null;
  private released = false;

  constructor(
    readonly file: string,
    readonly owner: ClaimOwner,
    heartbeatMs: number,
  ) {
    if (heartbeatMs > 0) {
      this.timer = setInterval(() => this.refresh(), heartbeatMs);
      // The heartbeat must never keep a finished process alive.
      this.timer.unref();
    }
  }

  /** Whether the claim file still names this owner. */
  held(): boolean {
    return readClaim(this.file)?.owner?.token === this.owner.token;
  }

  /** Marks the claim as alive now (its mtime); a no-op once released or taken over. */
  refresh(): void {
    if (this.released) return;
    try {
      if (!this.held()) return;
      const now = new Date();
      fs.utimesSync(this.file, now, now);
    } catch {
      // A failed refresh only makes the claim look older; the next one may succeed.
    }
  }

  /** Removes the claim file if it is still this owner's. Safe to call twice. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      if (this.held()) fs.unlinkSync(this.file);
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
    }
  }
}

function newOwner(purpose: string): ClaimOwner {
  return { pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString(), token: crypto.randomBytes(12).toString('hex'), purpose };
}

/** Creates `file` holding `owner` if it does not exist; false when it does. */
function createExclusive(file: string, owner: ClaimOwner): boolean {
  const text = JSON.stringify(owner) + '\n';
  const tmp = `${file}.${owner.pid}.${owner.token}.tmp`;
  fs.writeFileSync(tmp, text);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    // No hard links here (some network or FAT file systems): exclusive create, then write.
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx');
    } catch (err2) {
      if (errno(err2) === 'EEXIST') return false;
      throw err2;
    }
    try {
      fs.writeSync(fd, text);
    } finally {
      fs.closeSync(fd);
    }
    return true;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Tries once to claim `file` (creating its folder): claimed, taking over a
 * stale claim if there is one, or not claimed with the live holder.
 */
export function tryClaim(file: string, options: ClaimOptions = {}): ClaimAttempt {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const staleMs = options.staleMs ?? DEFAULT_CLAIM_STALE_MS;
  const heartbeatMs = options.heartbeatMs ?? Math.min(60000, Math.max(1000, Math.floor(staleMs / 6)));
  let tookOver: { owner: ClaimOwner | null; reason: string } | null = null;
  // A few rounds: each lost race (claim vanished, another contender took over) is retried.
  for (let round = 0; round < 5; round++) {
    const owner = newOwner(options.purpose ?? '');
    if (createExclusive(file, owner)) return { status: 'claimed', claim: new Claim(file, owner, heartbeatMs), tookOver };
    const seen = readClaim(file);
    if (seen === null) continue; // released between our attempt and the read
    const reason = staleReason(seen.owner, seen.mtimeMs, options);
    if (reason === null) {
      if (seen.owner === null) return { status: 'busy', holder: { pid: 0, hostname: '?', startedAt: '', token: '', purpose: 'being created' }, file };
      return { status: 'busy', holder: seen.owner, file };
    }
    const aside = `${file}.stale-${process.pid}-${crypto.randomBytes(6).toString('hex')}`;
    try {
      fs.renameSync(file, aside);
    } catch (err) {
      if (errno(err) === 'ENOENT') continue; // another contender moved it first
      throw err;
    }
    const moved = readClaim(aside);
    if ((moved?.owner?.token ?? null) === (seen.owner?.token ?? null)) {
      fs.rmSync(aside, { force: true });
      tookOver = { owner: seen.owner, reason };
      continue;
    }
    // We moved a fresh claim that replaced the stale one in between: put it back untouched.
    try {
      fs.linkSync(aside, file);
    } catch {
      // A third contender claimed meanwhile; its claim stands.
    }
    fs.rmSync(aside, { force: true });
    if (moved?.owner) return { status: 'busy', holder: moved.owner, file };
  }
  const last = readClaim(file);
  return { status: 'busy', holder: last?.owner ?? { pid: 0, hostname: '?', startedAt: '', token: '', purpose: 'contended' }, file };
}

/** Blocks the thread for `ms` (synchronous callers such as ResultsStore.append have no event loop to yield to). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export interface LockOptions {
  /** What the lock protects, for errors (e.g. "the results store RESULTS"). */
  what: string;
  /** Give up after waiting this long (default 120 s). */
  waitMs?: number;
  /** A lock not released for this long is stale (default 60 s: locks guard short writes). */
  staleMs?: number;
  /** Retry interval (default 25 ms). */
  pollMs?: number;
}

/** Describes a claim's owner for messages. */
export function describeOwner(owner: ClaimOwner): string {
  if (owner.pid === 0) return `an unknown process (${owner.purpose})`;
  const host = owner.hostname === os.hostname() ? '' : ` on ${owner.hostname}`;
  return `pid ${owner.pid}${host}${owner.startedAt ? `, since ${owner.startedAt}` : ''}`;
}

/**
 * Runs `fn` while holding the lock file `file` (a claim without heartbeat),
 * waiting for other holders; throws after `waitMs`, naming the file and how
 * to recover.
 */
export function withLockSync<T>(file: string, fn: () => T, options: LockOptions): T {
  const waitMs = options.waitMs ?? 120000;
  const pollMs = options.pollMs ?? 25;
  const claimOptions: ClaimOptions = { staleMs: options.staleMs ?? 60000, heartbeatMs: 0, ownPidIsLive: false, purpose: 'lock' };
  const t0 = Date.now();
  for (;;) {
    const got = tryClaim(file, claimOptions);
    if (got.status === 'claimed') {
      try {
        return fn();
      } finally {
        got.claim.release();
      }
    }
    if (Date.now() - t0 > waitMs) {
      throw new Error(
        `${file}: ${options.what} is locked by ${describeOwner(got.holder)}; waited ${Math.round((Date.now() - t0) / 1000)} s. ` +
          `If no resad process is using it any more, delete ${file} and retry.`,
      );
    }
    sleepSync(pollMs);
  }
}
