/**
 * Model downloads (only when the user asks): a Hugging Face repo id or a direct http(s) URL. Resumable through a
 * `<file>.part` and a Range request, sha256-verified when the hub (x-linked-etag of LFS files) or the caller knows it.
 * Uses node:http/https rather than fetch: VS Code applies its proxy settings to those modules, and the hub's sha256 is on
 * the redirect response, which fetch's automatic redirects would hide.
 */
import { sha256File } from '../../shared/file-hash';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { basename, dirname, join } from 'node:path';
import { CancelledError } from '../inference/engine';
import { CodedError } from '../../shared/coded-error';

export type DownloadErrorCode = 'BAD_SOURCE' | 'NOT_FOUND' | 'UNAUTHORIZED' | 'HTTP' | 'NETWORK' | 'CHECKSUM' | 'INCOMPLETE' | 'TOO_LARGE';

export class DownloadError extends CodedError<DownloadErrorCode> {
  override readonly name = 'DownloadError';
  constructor(code: DownloadErrorCode, message: string, readonly url?: string) {
    super(code, message);
  }
}

export interface DownloadProgress {
  file: string;
  /** Bytes of this file on disk so far (a resumed download starts at the .part's size). */
  received: number;
  total?: number;
}

export interface DownloadOptions {
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  hubUrl?: string;
  /** Branch, tag or commit of a hub repo (default main). */
  revision?: string;
  /** Expected sha256 (hex) per file name, or for the single file of a direct URL. */
  sha256?: Record<string, string> | string;
  /** Hugging Face token for gated repos; sent to the hub only, never to the CDN it redirects to. */
  token?: string;
  /** Refuse a file larger than this (default 20 GiB), announced or not. */
  maxBytes?: number;
}

/** Larger than any HLIP checkpoint (ViT-L with optimizer state is ~5 GB): a server sending more is not sending a model. */
export const DEFAULT_MAX_DOWNLOAD = 20 * 2 ** 30;

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** https, or http to this machine (a local mirror, the tests): a plain-http server elsewhere could swap the weights. */
export function checkSourceUrl(raw: string, what: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new DownloadError('BAD_SOURCE', `${what} is not a valid URL: ${raw}`);
  }
  if (u.protocol === 'https:' || (u.protocol === 'http:' && LOCAL_HOSTS.has(u.hostname))) return u;
  if (u.protocol === 'http:') throw new DownloadError('BAD_SOURCE', `${what} must use https (plain http is only accepted for localhost): ${raw}`);
  throw new DownloadError('BAD_SOURCE', `Only http(s) downloads are supported, not ${u.protocol}`);
}

export interface DownloadResult {
  dir: string;
  /** Files now in dir (downloaded or already there). */
  files: string[];
  /** Optional files the source does not have. */
  missing: string[];
}

/** The files of an HLIP checkpoint repo; only the weights are required. */
export const HUB_FILES: { name: string; required: boolean }[] = [
  { name: 'model.safetensors', required: true },
  { name: 'open_clip_config.json', required: false },
  { name: 'vocab.txt', required: false },
  { name: 'tokenizer.json', required: false },
  { name: 'tokenizer_config.json', required: false },
  { name: 'special_tokens_map.json', required: false },
];

export async function downloadModel(source: string, destDir: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  mkdirSync(destDir, { recursive: true });
  const shaFor = (name: string) => (typeof opts.sha256 === 'string' ? opts.sha256 : opts.sha256?.[name]);
  if (/^https?:\/\//i.test(source)) {
    const name = safeName(decodePath(basename(checkSourceUrl(source, 'The download URL').pathname), source));
    await downloadFile(source, join(destDir, name), { ...opts, sha256: shaFor(name), file: name });
    return { dir: destDir, files: [name], missing: [] };
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(source)) throw new DownloadError('BAD_SOURCE', `Only http(s) downloads are supported, not ${source.split(':')[0]}:`);
  const m = /^([\w.-]+\/[\w.-]+?)(?:@([\w./-]+))?$/.exec(source.trim());
  if (!m) throw new DownloadError('BAD_SOURCE', `Not a Hugging Face repo id (owner/name) or an http(s) URL: ${source}`);
  const [, repo, rev] = m;
  const hub = checkSourceUrl(opts.hubUrl ?? 'https://huggingface.co', 'The hub URL (hlip.hubUrl)').href.replace(/\/+$/, '');
  const revision = encodeURIComponent(rev ?? opts.revision ?? 'main');
  const files: string[] = [];
  const missing: string[] = [];
  for (const f of HUB_FILES) {
    const url = `${hub}/${repo}/resolve/${revision}/${f.name}`;
    try {
      await downloadFile(url, join(destDir, f.name), { ...opts, sha256: shaFor(f.name), file: f.name });
      files.push(f.name);
    } catch (e) {
      if (e instanceof DownloadError && e.code === 'NOT_FOUND' && !f.required) missing.push(f.name);
      else if (e instanceof DownloadError && e.code === 'NOT_FOUND') throw new DownloadError('NOT_FOUND', `${repo} has no ${f.name} (404 from ${url})`, url);
      else throw e;
    }
  }
  return { dir: destDir, files, missing };
}

function decodePath(p: string, url: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    throw new DownloadError('BAD_SOURCE', `The URL's file name has invalid percent-encoding: ${url}`, url);
  }
}

const safeName = (n: string) => n.replace(/[^\w.+-]/g, '_').replace(/^\.+/, '') || 'download';

interface FileOptions extends Omit<DownloadOptions, 'sha256' | 'revision'> {
  sha256?: string;
  file?: string;
}

/** What we wrote beside a finished download: its size and sha256, so a later run can tell it is still that file. */
const recordPath = (dest: string) => join(dirname(dest), `.${basename(dest)}.download.json`);

function readRecord(dest: string): { size: number; sha256: string } | undefined {
  try {
    const r = JSON.parse(readFileSync(recordPath(dest), 'utf8')) as { size?: unknown; sha256?: unknown };
    return typeof r.size === 'number' && typeof r.sha256 === 'string' ? { size: r.size, sha256: r.sha256 } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Downloads one URL to `dest`. An existing `dest` is kept only when it matches the known sha256, or else the size and
 * sha256 recorded when this code downloaded it. Bytes go to `dest.part`; a later call resumes from its size, but only
 * when a sha256 will check the result (an unverifiable prefix is never trusted). The file appears under `dest` only
 * once complete and verified.
 */
export async function downloadFile(url: string, dest: string, opts: FileOptions = {}): Promise<{ path: string; bytes: number; sha256?: string }> {
  const file = opts.file ?? basename(dest);
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_DOWNLOAD;
  if (opts.signal?.aborted) throw cancelled(url);
  if (existsSync(dest)) {
    const size = statSync(dest).size;
    const want = opts.sha256?.toLowerCase() ?? (readRecord(dest)?.size === size ? readRecord(dest)?.sha256 : undefined);
    if (want) {
      const sha = await sha256File(dest);
      if (sha === want) return { path: dest, bytes: size, sha256: sha };
    }
    unlinkSync(dest); // stale, damaged, or not ours to vouch for: fetch it again
  }
  rmSync(recordPath(dest), { force: true });
  const part = dest + '.part';
  let have = existsSync(part) ? statSync(part).size : 0;
  const res = await get(url, have ? { Range: `bytes=${have}-` } : {}, opts);
  const expected = (opts.sha256 ?? res.sha256)?.toLowerCase();
  if (have && !expected) {
    // Nothing will verify the joined file: a damaged or planted .part must not become part of it.
    res.msg.destroy();
    unlinkSync(part);
    return downloadFile(url, dest, opts);
  }
  if (res.msg.statusCode === 416) {
    res.msg.resume();
    // Either the part already holds the whole file (stopped between the last byte and the rename) or it is bogus.
    const total = Number(/\*\/(\d+)/.exec(String(res.msg.headers['content-range']))?.[1]);
    if (total !== have) {
      unlinkSync(part);
      return downloadFile(url, dest, opts);
    }
  } else {
    if (res.msg.statusCode === 200) have = 0; // no range support (or a changed file): start over
    else if (res.msg.statusCode === 206) {
      const start = Number(/bytes (\d+)-/.exec(String(res.msg.headers['content-range']))?.[1]);
      if (start !== have) {
        res.msg.destroy();
        throw new DownloadError('HTTP', `The server resumed at byte ${start}, not ${have}`, url);
      }
    }
    const total = totalOf(res.msg, have);
    if (total !== undefined && total > maxBytes) {
      res.msg.destroy();
      rmSync(part, { force: true });
      throw new DownloadError('TOO_LARGE', `${file} is ${total} bytes, more than the ${maxBytes}-byte download limit`, url);
    }
    try {
      await receive(res.msg, part, have, { file, total, maxBytes, ...opts });
    } catch (e) {
      if (e instanceof DownloadError && e.code === 'TOO_LARGE') rmSync(part, { force: true });
      throw e;
    }
    const size = statSync(part).size;
    if (total !== undefined && size !== total) throw new DownloadError('INCOMPLETE', `${file}: got ${size} of ${total} bytes; run again to resume`, url);
  }
  const sha = await sha256File(part);
  if (expected && sha !== expected) {
    unlinkSync(part);
    throw new DownloadError('CHECKSUM', `${file}: sha256 ${sha} does not match the expected ${expected}; the download was deleted`, url);
  }
  renameSync(part, dest);
  const bytes = statSync(dest).size;
  writeFileSync(recordPath(dest), JSON.stringify({ size: bytes, sha256: sha }));
  return { path: dest, bytes, sha256: sha };
}

function totalOf(msg: IncomingMessage, have: number): number | undefined {
  const range = /\/(\d+)\s*$/.exec(String(msg.headers['content-range'] ?? ''));
  if (range) return Number(range[1]);
  const len = msg.headers['content-length'];
  return len !== undefined ? Number(len) + (msg.statusCode === 206 ? have : 0) : undefined;
}

/** Streams the body onto the part file (appending from `have`); on abort or a dropped connection the part stays. */
function receive(msg: IncomingMessage, part: string, have: number, o: { file: string; total?: number; maxBytes: number; signal?: AbortSignal; onProgress?: (p: DownloadProgress) => void }): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(part, { flags: have ? 'a' : 'w' });
    let bytes = have;
    let failed: Error | undefined;
    const fail = (e: Error) => {
      if (failed) return;
      failed = e;
      msg.destroy();
      out.end(); // keep what arrived: the next call resumes from it
    };
    const onAbort = () => fail(cancelled(o.file));
    o.signal?.addEventListener('abort', onAbort, { once: true });
    msg.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > o.maxBytes) fail(new DownloadError('TOO_LARGE', `${o.file}: the server sent more than the ${o.maxBytes}-byte download limit; the download was deleted`));
      o.onProgress?.({ file: o.file, received: bytes, total: o.total });
    });
    msg.on('aborted', () => fail(new DownloadError('NETWORK', `${o.file}: the connection dropped after ${bytes} bytes; run again to resume`)));
    msg.on('error', (e) => fail(new DownloadError('NETWORK', `${o.file}: ${e.message}; run again to resume`)));
    out.on('error', (e) => fail(e));
    out.on('close', () => {
      o.signal?.removeEventListener('abort', onAbort);
      if (failed) reject(failed);
      else if (!msg.complete) reject(new DownloadError('NETWORK', `${o.file}: the connection closed after ${bytes} bytes; run again to resume`));
      else resolve();
    });
    msg.pipe(out);
  });
}

interface Got {
  msg: IncomingMessage;
  /** sha256 announced by the hub (x-linked-etag on the LFS redirect, or a 64-hex etag). */
  sha256?: string;
}

const sha256Header = (v: string | string[] | undefined): string | undefined => {
  const s = String(Array.isArray(v) ? v[0] : v ?? '').replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
  return /^[0-9a-f]{64}$/.test(s) ? s : undefined; // a git blob etag (sha1, 40 hex) says nothing about sha256
};

/**
 * GET with manual redirects (max 10): Range is kept; the token goes to the first host only, and stops for good once a
 * redirect leaves that host or drops to plain http.
 */
async function get(url: string, headers: Record<string, string>, o: { signal?: AbortSignal; token?: string }): Promise<Got> {
  let current = checkSourceUrl(url, 'The download URL');
  const origin = current.host;
  const scheme = current.protocol;
  let tokenAllowed = !!o.token;
  let sha256: string | undefined;
  for (let hop = 0; hop <= 10; hop++) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:') throw new DownloadError('BAD_SOURCE', `Refusing to follow a redirect to ${current.protocol}`, url);
    if (current.host !== origin || current.protocol !== scheme) tokenAllowed = false; // stays off for later hops
    const h: Record<string, string> = { 'User-Agent': 'hlip-viewer', 'Accept-Encoding': 'identity', ...headers };
    if (tokenAllowed) h.Authorization = `Bearer ${o.token}`;
    const msg = await once(current, h, o.signal);
    sha256 ??= sha256Header(msg.headers['x-linked-etag']) ?? sha256Header(msg.headers.etag);
    const status = msg.statusCode ?? 0;
    if (status >= 300 && status < 400 && msg.headers.location) {
      msg.resume();
      try {
        current = new URL(msg.headers.location, current);
      } catch {
        throw new DownloadError('HTTP', `${current.host} redirected to an invalid URL`, url);
      }
      continue;
    }
    if (status === 200 || status === 206 || status === 416) return { msg, sha256 };
    msg.resume();
    if (status === 404) throw new DownloadError('NOT_FOUND', `Not found (404): ${current.href}`, url);
    if (status === 401 || status === 403) throw new DownloadError('UNAUTHORIZED', `Access denied (${status}) to ${url}: a gated or private repo needs a token`, url);
    throw new DownloadError('HTTP', `HTTP ${status} from ${current.href}`, url);
  }
  throw new DownloadError('HTTP', `Too many redirects from ${url}`, url);
}

function once(u: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { headers, signal });
    req.setTimeout(60_000, () => req.destroy(new DownloadError('NETWORK', `No answer from ${u.host} for 60 s`)));
    req.on('response', resolve);
    req.on('error', (e) => reject(signal?.aborted ? cancelled(u.href) : e instanceof DownloadError ? e : new DownloadError('NETWORK', `${u.host}: ${e.message}`, u.href)));
    req.end();
  });
}

/** The same error as a cancelled inference, so callers handle every cancel alike; the .part is kept for resuming. */
const cancelled = (what: string) => new CancelledError(`Download cancelled: ${what}`);

