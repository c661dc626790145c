/**
 * downloadModel / downloadFile against a real HTTP server on 127.0.0.1 in the Hugging Face layout
 * (/<owner>/<repo>/resolve/main/<file>): the weights answer with a 302 to a "CDN" path carrying x-linked-etag (sha256),
 * as the hub does for LFS files; Range requests are honoured.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { DownloadError, downloadFile, downloadModel } from '../../src/hlip/models/download';
import { CancelledError } from '../../src/hlip/inference/engine';

const REPO = 'owner/hlip-test';
const weights = randomBytes(3 * 1024 * 1024 + 17);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const files: Record<string, Buffer> = {
  'model.safetensors': weights,
  'open_clip_config.json': Buffer.from(JSON.stringify({ model_cfg: { vision_cfg: {} } })),
  'vocab.txt': Buffer.from('[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nbrain\n'),
};

/** What the next requests should do wrong. */
const faults = { cutAfter: 0, corrupt: false, noRange: false };
const seen: { url: string; range?: string; auth?: string; host?: string }[] = [];

let server: Server;
let hub: string;
let dir: string;

function serveBody(req: IncomingMessage, res: import('node:http').ServerResponse, body: Buffer) {
  let start = 0;
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (m && !faults.noRange) {
    start = Number(m[1]);
    if (start >= body.length) {
      res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
      return;
    }
    res.writeHead(206, { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}`, 'Content-Length': body.length - start, 'Accept-Ranges': 'bytes' });
  } else res.writeHead(200, { 'Content-Length': body.length, 'Accept-Ranges': 'bytes' });
  let out = body.subarray(start);
  if (faults.corrupt) {
    out = Buffer.from(out);
    out[out.length >> 1] ^= 0xff;
  }
  if (faults.cutAfter) {
    // Send N bytes, then drop the connection mid-file.
    res.write(out.subarray(0, faults.cutAfter), () => setTimeout(() => res.socket?.destroy(), 50));
    return;
  }
  res.end(out);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hlip-dl-'));
  server = createServer((req, res) => {
    seen.push({ url: req.url!, range: req.headers.range, auth: req.headers.authorization, host: req.headers.host });
    const url = new URL(req.url!, 'http://x');
    const hf = /^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/.exec(url.pathname);
    if (hf && hf[1] === REPO && files[hf[2]]) {
      const name = hf[2];
      if (name === 'model.safetensors') {
        // LFS: the hub answers with a redirect to the CDN and the sha256 in x-linked-etag.
        const cdn = `http://localhost:${(server.address() as AddressInfo).port}/cdn/${sha(weights)}?name=${name}`;
        res.writeHead(302, { Location: cdn, 'X-Linked-Etag': `"${sha(weights)}"`, 'X-Linked-Size': String(weights.length), ETag: '"0123456789abcdef0123456789abcdef01234567"' });
        res.end();
        return;
      }
      return serveBody(req, res, files[name]);
    }
    if (url.pathname.startsWith('/cdn/')) return serveBody(req, res, weights);
    if (url.pathname === '/direct/weights.safetensors') return serveBody(req, res, weights);
    if (url.pathname === '/to-ftp') {
      res.writeHead(302, { Location: 'ftp://example.com/x' }).end();
      return;
    }
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hub = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  Object.assign(faults, { cutAfter: 0, corrupt: false, noRange: false });
  seen.length = 0;
});

const fresh = (name: string) => {
  const d = join(dir, name);
  rmSync(d, { recursive: true, force: true });
  return d;
};

describe('downloadModel', () => {
  test('a hub repo: every file present, optional 404s listed, weights verified, redirect followed, token kept on the hub', async () => {
    const dest = fresh('full');
    const progress: number[] = [];
    const r = await downloadModel(REPO, dest, { hubUrl: hub, token: 'hf_secret', onProgress: (p) => p.file === 'model.safetensors' && progress.push(p.received) });
    assert.deepEqual(r.files, ['model.safetensors', 'open_clip_config.json', 'vocab.txt']);
    assert.deepEqual(r.missing, ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']);
    assert.ok(readFileSync(join(dest, 'model.safetensors')).equals(weights));
    assert.ok(readFileSync(join(dest, 'vocab.txt')).equals(files['vocab.txt']));
    assert.equal(progress.at(-1), weights.length);
    assert.ok(existsSync(join(dest, 'model.safetensors')) && !existsSync(join(dest, 'model.safetensors.part')));
    const cdn = seen.find((s) => s.url.startsWith('/cdn/'))!;
    assert.ok(cdn, 'the redirect was followed');
    assert.equal(cdn.auth, undefined, 'the token is not sent to another host');
    assert.equal(seen.find((s) => s.url.includes('/resolve/'))!.auth, 'Bearer hf_secret');
  });

  /** A healthy server again: the next call must ask for the rest (Range from the .part's size) and finish the file. */
  const resumesFrom = async (dest: string, have: number) => {
    faults.cutAfter = 0;
    seen.length = 0;
    await downloadModel(REPO, dest, { hubUrl: hub });
    assert.equal(seen.find((s) => s.url.startsWith('/cdn/'))!.range, `bytes=${have}-`);
    assert.ok(readFileSync(join(dest, 'model.safetensors')).equals(weights));
  };

  test('a download cut mid-file resumes from the .part with a Range request', async () => {
    const dest = fresh('resume');
    faults.cutAfter = 1_000_000;
    await assert.rejects(downloadModel(REPO, dest, { hubUrl: hub }), (e: unknown) => e instanceof DownloadError && (e.code === 'NETWORK' || e.code === 'INCOMPLETE'));
    const part = join(dest, 'model.safetensors.part');
    const have = statSync(part).size;
    assert.equal(have, 1_000_000);
    assert.ok(!existsSync(join(dest, 'model.safetensors')));
    await resumesFrom(dest, have);
  });

  test('cancel keeps the .part; the next call resumes it', async () => {
    const dest = fresh('cancel');
    const ac = new AbortController();
    faults.cutAfter = 500_000; // the server stalls after this much; the abort lands mid-file
    const p = downloadModel(REPO, dest, { hubUrl: hub, signal: ac.signal, onProgress: (x) => x.received >= 500_000 && ac.abort() });
    await assert.rejects(p, (e: unknown) => e instanceof CancelledError);
    const have = statSync(join(dest, 'model.safetensors.part')).size;
    assert.ok(have > 0 && have <= 500_000, `part holds ${have}`);
    await resumesFrom(dest, have);
  });

  test('a server without Range support: 200 to a range request starts over', async () => {
    const dest = fresh('norange');
    faults.cutAfter = 700_000;
    await assert.rejects(downloadModel(REPO, dest, { hubUrl: hub }));
    Object.assign(faults, { cutAfter: 0, noRange: true });
    await downloadModel(REPO, dest, { hubUrl: hub });
    assert.ok(readFileSync(join(dest, 'model.safetensors')).equals(weights));
  });

  test('a corrupted body fails the checksum and leaves nothing in place', async () => {
    const dest = fresh('corrupt');
    faults.corrupt = true;
    await assert.rejects(downloadModel(REPO, dest, { hubUrl: hub }), (e: unknown) => {
      assert.ok(e instanceof DownloadError);
      assert.equal(e.code, 'CHECKSUM');
      return true;
    });
    assert.ok(!existsSync(join(dest, 'model.safetensors')));
    assert.ok(!existsSync(join(dest, 'model.safetensors.part')));
  });

  test('a caller-given sha256 is checked too', async () => {
    const dest = fresh('given-sha');
    await assert.rejects(downloadModel(`${hub}/direct/weights.safetensors`, dest, { sha256: '0'.repeat(64) }), { code: 'CHECKSUM' });
    const r = await downloadModel(`${hub}/direct/weights.safetensors`, dest, { sha256: sha(weights) });
    assert.deepEqual(r.files, ['weights.safetensors']);
    assert.ok(readFileSync(join(dest, 'weights.safetensors')).equals(weights));
  });

  test('a required file that is missing is a clear error', async () => {
    await assert.rejects(downloadModel('owner/no-such-repo', fresh('404'), { hubUrl: hub }), (e: unknown) => {
      assert.ok(e instanceof DownloadError);
      assert.equal(e.code, 'NOT_FOUND');
      assert.match(e.message, /owner\/no-such-repo has no model\.safetensors/);
      return true;
    });
  });

  test('only http(s): other schemes and redirects to them are refused', async () => {
    await assert.rejects(downloadModel('file:///etc/passwd', fresh('scheme')), { code: 'BAD_SOURCE' });
    await assert.rejects(downloadModel('ftp://example.com/model.safetensors', fresh('scheme')), { code: 'BAD_SOURCE' });
    await assert.rejects(downloadModel('not a repo id', fresh('scheme')), { code: 'BAD_SOURCE' });
    await assert.rejects(downloadFile(`${hub}/to-ftp`, join(fresh('scheme'), 'x')), { code: 'BAD_SOURCE' });
  });

  test('a complete file already in place is kept; a stale one is replaced', async () => {
    const dest = fresh('existing');
    await downloadModel(`${hub}/direct/weights.safetensors`, dest);
    seen.length = 0;
    await downloadModel(`${hub}/direct/weights.safetensors`, dest, { sha256: sha(weights) });
    assert.equal(seen.length, 0, 'no request for a verified file');
    writeFileSync(join(dest, 'weights.safetensors'), 'stale');
    await downloadModel(`${hub}/direct/weights.safetensors`, dest, { sha256: sha(weights) });
    assert.ok(readFileSync(join(dest, 'weights.safetensors')).equals(weights));
  });
});
