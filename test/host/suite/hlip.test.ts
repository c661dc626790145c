/**
 * HLIP inside a real VS Code: the built-in demo model converts in the extension host, "HLIP: Classify Study" on an open
 * MRI returns ranked scores from real onnxruntime inference, a provider that cannot load falls back to cpu and says
 * why, and "HLIP: Download Model" fetches a model folder over real HTTP (a hub on 127.0.0.1) and converts it.
 */
import * as assert from 'node:assert/strict';
import { createReadStream, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { HlipApi } from '../../../src/host/extension';
import type { ModelManifest } from '../../../src/hlip/models/model-catalogue';
import type { ClassifyResults } from '../../../src/protocol';
import { test } from './index';

let api: HlipApi;
async function hlip(): Promise<HlipApi> {
  if (!api) api = (await vscode.extensions.getExtension('hlip-viewer.hlip-viewer')!.activate()) as HlipApi;
  return api;
}
const file = (name: string) => vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, name);
const config = () => vscode.workspace.getConfiguration('hlip');

async function openViewer(name: string): Promise<void> {
  const { onDidReceive } = await hlip();
  const uri = file(name);
  const rendered = new Promise<void>((resolve) => {
    const sub = onDidReceive(({ session, message }) => {
      if (session.source.fsPath === uri.fsPath && message.type === 'rendered') (sub.dispose(), resolve());
    });
  });
  await vscode.commands.executeCommand('vscode.openWith', uri, 'hlip.volumeViewer');
  await rendered;
}

let demo: ModelManifest;

test('the built-in demo model converts in the extension host and says it is untrained', async () => {
  await hlip();
  demo = (await vscode.commands.executeCommand('hlip.useDemoModel')) as ModelManifest;
  assert.ok(demo, 'no manifest returned');
  assert.equal(demo.untrained, true);
  assert.equal(demo.visual.pool, 'dinotxt');
  assert.deepEqual(Object.keys(demo.sets).sort(), ['ct', 'ctrate', 'mri', 'pubbrain5', 'rsna']);
}, { timeout: 240_000 });

test('Classify Study on an open MRI: ranked scores for 74 diagnoses and Pub-Brain-5, on cpu', async () => {
  await openViewer('anatomical.nii');
  const r = (await vscode.commands.executeCommand('hlip.classifyStudy')) as ClassifyResults;
  assert.ok(r, 'no results');
  assert.equal(r.protocol, 'mri');
  assert.equal(r.model.untrained, true);
  assert.equal(r.provider, 'cpu');
  const mri = r.sets.find((s) => s.name === 'mri')!;
  assert.equal(mri.rows.length, 74);
  for (let i = 1; i < mri.rows.length; i++) assert.ok(mri.rows[i - 1].score >= mri.rows[i].score);
  const pb5 = r.sets.find((s) => s.name === 'pubbrain5')!;
  assert.ok(Math.abs(pb5.rows.reduce((a, x) => a + x.score, 0) - 1) < 1e-4, 'Pub-Brain-5 is a softmax');
  const session = (await hlip()).sessions().find((s) => s.source.fsPath === file('anatomical.nii').fsPath)!;
  const c = (await hlip()).hlip.classification(session)!;
  assert.equal(c.clsAttn.dims[2], c.prefix + c.grid[0] * c.grid[1] * c.grid[2]);
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}, { timeout: 180_000 });

test('a model converted by an earlier version is converted again from its checkpoint when next used', async () => {
  // The catalogue lives beside the demo checkpoint's folder in the extension's global storage.
  const storage = demo.source.slice(0, demo.source.lastIndexOf('demo-model'));
  const manifestPath = join(storage, 'models', demo.id, 'manifest.json');
  const current = JSON.parse(readFileSync(manifestPath, 'utf8')) as ModelManifest;
  writeFileSync(manifestPath, JSON.stringify({ ...current, version: current.version - 1 }));
  await openViewer('anatomical.nii');
  const r = (await vscode.commands.executeCommand('hlip.classifyStudy')) as ClassifyResults;
  assert.equal(r?.sets.find((s) => s.name === 'mri')?.rows.length, 74);
  const renewed = JSON.parse(readFileSync(manifestPath, 'utf8')) as ModelManifest;
  assert.equal(renewed.version, current.version);
  assert.equal(renewed.id, demo.id);
  assert.notEqual(renewed.created, current.created, 'converted again, not restored');
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}, { timeout: 240_000 });

test('asking for cuda on a machine without it runs on cpu and says why', async () => {
  await config().update('executionProviders', ['cuda'], vscode.ConfigurationTarget.Global);
  try {
    await openViewer('anatomical.nii');
    const r = (await vscode.commands.executeCommand('hlip.classifyStudy')) as ClassifyResults;
    assert.equal(r.provider, 'cpu');
    assert.match(r.fallback ?? '', /cuda/i);
  } finally {
    await config().update('executionProviders', undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  }
}, { timeout: 180_000 });

test('Download Model fetches a model folder from a hub over HTTP and converts it', async () => {
  // A hub on 127.0.0.1 serving the demo model in the Hugging Face layout: /<owner>/<repo>/resolve/main/<file>.
  const demoDir = join(demo.source.endsWith('.safetensors') ? join(demo.source, '..') : demo.source);
  const files = new Set(readdirSync(demoDir));
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const m = /^\/local\/demo\/resolve\/main\/([^/?]+)$/.exec(req.url ?? '');
    seen.push(req.url ?? '');
    if (!m || !files.has(m[1])) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-length': statSync(join(demoDir, m[1])).size });
    createReadStream(join(demoDir, m[1])).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  await config().update('hubUrl', `http://127.0.0.1:${(server.address() as AddressInfo).port}`, vscode.ConfigurationTarget.Global);
  try {
    const m = (await vscode.commands.executeCommand('hlip.downloadModel', 'local/demo')) as ModelManifest;
    assert.ok(m, 'download + conversion returned nothing');
    assert.equal(m.sha256, demo.sha256, 'the downloaded weights are the served ones');
    assert.ok(seen.some((u) => u.endsWith('/model.safetensors')));
  } finally {
    server.close();
    await config().update('hubUrl', undefined, vscode.ConfigurationTarget.Global);
  }
}, { timeout: 120_000 });
