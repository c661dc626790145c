/**
 * downloadModel / downloadFile against a real HTTP server on 127.0.0.1 in the Hugging Face layout
 * (/<owner>/<repo>/resolve/main/<file>): the weights answer with a 302 to a "CDN" path carrying x-linked-etag (sha256),
 * as the hub does for LFS files; Range requests are honoured.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { execFileSync, spawn } from 'node:child_process';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Socket } from 'node:net';
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
    if (url.pathname === '/chunked/weights.safetensors') {
      // No Content-Length (chunked), as a server that does not say how much is coming.
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      for (let i = 0; i < weights.length; i += 256 * 1024) res.write(weights.subarray(i, i + 256 * 1024));
      res.end();
      return;
    }
    if (url.pathname === '/redirect-elsewhere') {
      res.writeHead(302, { Location: `http://localhost:${(server.address() as AddressInfo).port}/direct/weights.safetensors` }).end();
      return;
    }
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

describe('downloads without a known sha256, limits, tokens and bad URLs', () => {
  test('a .part that nothing can verify is never resumed: it is deleted and the download starts over', async () => {
    const dest = fresh('no-sha-part');
    await downloadModel(`${hub}/direct/weights.safetensors`, dest).catch(() => undefined); // creates the folder
    rmSync(join(dest, 'weights.safetensors'));
    rmSync(join(dest, '.weights.safetensors.download.json'), { force: true });
    writeFileSync(join(dest, 'weights.safetensors.part'), Buffer.alloc(1_000_000, 0x41)); // a planted prefix
    seen.length = 0;
    await downloadModel(`${hub}/direct/weights.safetensors`, dest);
    assert.ok(readFileSync(join(dest, 'weights.safetensors')).equals(weights), 'the planted prefix is not part of the file');
    assert.equal(seen.at(-1)!.range, undefined, 'the final request asks for the whole file');
  });

  test('an existing file this code did not record is fetched again; a recorded one is kept until it changes', async () => {
    const dest = fresh('unrecorded');
    await downloadModel(`${hub}/direct/weights.safetensors`, dest);
    const target = join(dest, 'weights.safetensors');
    // Recorded (size + sha256 beside it): kept without a request.
    seen.length = 0;
    await downloadModel(`${hub}/direct/weights.safetensors`, dest);
    assert.equal(seen.length, 0);
    // Same size, other bytes (a swapped file): fetched again.
    const swapped = Buffer.from(weights);
    swapped[12345] ^= 0xff;
    writeFileSync(target, swapped);
    await downloadModel(`${hub}/direct/weights.safetensors`, dest);
    assert.ok(seen.length > 0 && readFileSync(target).equals(weights));
    // No record at all (someone else's file): fetched again.
    rmSync(join(dest, '.weights.safetensors.download.json'));
    writeFileSync(target, 'not the model');
    seen.length = 0;
    await downloadModel(`${hub}/direct/weights.safetensors`, dest);
    assert.ok(seen.length > 0 && readFileSync(target).equals(weights));
  });

  test('a size limit holds with and without Content-Length, and leaves no part behind', async () => {
    const dest = fresh('limit');
    const small = { maxBytes: 1024 * 1024 };
    await assert.rejects(downloadModel(`${hub}/direct/weights.safetensors`, dest, small), { code: 'TOO_LARGE' });
    assert.ok(!existsSync(join(dest, 'weights.safetensors.part')));
    await assert.rejects(downloadModel(`${hub}/chunked/weights.safetensors`, dest, small), (e: unknown) => {
      assert.ok(e instanceof DownloadError && e.code === 'TOO_LARGE', String(e));
      assert.match(e.message, /more than the 1048576-byte download limit/);
      return true;
    });
    assert.ok(!existsSync(join(dest, 'weights.safetensors.part')) && !existsSync(join(dest, 'weights.safetensors')));
    // Under the limit, chunked is fine.
    await downloadModel(`${hub}/chunked/weights.safetensors`, dest);
    assert.ok(readFileSync(join(dest, 'weights.safetensors')).equals(weights));
  });

  test('bad percent-encoding and malformed URLs are BAD_SOURCE; plain http is refused except for localhost', async () => {
    await assert.rejects(downloadModel(`${hub}/direct/%E0%A4%A.safetensors`, fresh('pct')), (e: unknown) => e instanceof DownloadError && e.code === 'BAD_SOURCE' && /percent-encoding/.test(e.message));
    await assert.rejects(downloadModel('http://[broken/x.safetensors', fresh('pct')), { code: 'BAD_SOURCE' });
    await assert.rejects(downloadModel('http://example.com/model.safetensors', fresh('pct')), (e: unknown) => e instanceof DownloadError && e.code === 'BAD_SOURCE' && /must use https/.test(e.message));
    await assert.rejects(downloadModel(REPO, fresh('pct'), { hubUrl: 'http://hub.example.com' }), (e: unknown) => e instanceof DownloadError && e.code === 'BAD_SOURCE' && /hlip\.hubUrl/.test(e.message));
  });

  test('the token stays off after a redirect to another host', async () => {
    seen.length = 0;
    const tok = fresh('tok');
    mkdirSync(tok, { recursive: true });
    await downloadFile(`${hub}/redirect-elsewhere`, join(tok, 'w.safetensors'), { token: 'hf_secret' });
    assert.equal(seen[0].auth, 'Bearer hf_secret');
    assert.equal(seen[1].auth, undefined);
  });

  test('https -> http on the same host and port: the token is not sent over plain http', async (t) => {
    // One port speaking TLS and plain HTTP (the first byte tells them apart), a self-signed certificate trusted by a
    // child process through NODE_EXTRA_CA_CERTS: the hub redirects to http://127.0.0.1:<same port>/...
    const dir = fresh('tls');
    mkdirSync(dir, { recursive: true });
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    } catch {
      if (process.env.CI === 'true') throw new Error('openssl is needed for this test');
      return t.skip('openssl not installed');
    }
    const plain: { url: string; auth?: string }[] = [];
    const tls: { url: string; auth?: string }[] = [];
    let port = 0;
    const https = createHttpsServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, (req, res) => {
      tls.push({ url: req.url!, auth: req.headers.authorization });
      res.writeHead(302, { Location: `http://127.0.0.1:${port}/file.safetensors` }).end();
    });
    const http = createServer((req, res) => {
      plain.push({ url: req.url!, auth: req.headers.authorization });
      res.writeHead(200, { 'Content-Length': 5 }).end('hello');
    });
    const both = createNetServer({ pauseOnConnect: true }, (socket: Socket) => {
      socket.once('readable', () => {
        const first = socket.read(1) as Buffer;
        socket.unshift(first);
        (first[0] === 0x16 ? https : http).emit('connection', socket);
      });
      socket.resume();
      socket.pause();
    });
    await new Promise<void>((r) => both.listen(0, '127.0.0.1', r));
    port = (both.address() as AddressInfo).port;
    try {
      const script = `require(${JSON.stringify(join(__dirname, '../../src/hlip/models/download.ts'))}).downloadFile('https://127.0.0.1:${port}/gated/file.safetensors', ${JSON.stringify(join(dir, 'file.safetensors'))}, { token: 'hf_secret' }).then(() => console.log('done'), (e) => { console.log(e.message); process.exit(1); })`;
      const child = await new Promise<{ status: number | null; out: string }>((resolve) => {
        const c = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'c.pem') } });
        let out = '';
        c.stdout.on('data', (d: Buffer) => (out += d));
        c.stderr.on('data', (d: Buffer) => (out += d));
        c.on('exit', (status: number | null) => resolve({ status, out }));
      });
      assert.equal(child.status, 0, child.out);
      assert.deepEqual(tls, [{ url: '/gated/file.safetensors', auth: 'Bearer hf_secret' }], 'the token goes to the https hub');
      assert.deepEqual(plain, [{ url: '/file.safetensors', auth: undefined }], 'never over plain http, even to the same host');
      assert.equal(readFileSync(join(dir, 'file.safetensors'), 'utf8'), 'hello');
    } finally {
      both.close();
    }
  });
});
