/**
 * The manifest a user gets: every setting declared fully (description, type, default that passes its own schema, enum
 * where values are fixed) and checked by the host's validator; every command titled under "HLIP"; the walkthrough's
 * commands and media exist; the remote and workspace-trust declarations.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type SettingSchema, settingProblem } from '../../src/shared/setting-check';
import { ROOT } from './runtime-files';

const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const settings = manifest.contributes.configuration.properties as Record<string, SettingSchema>;
const commands = manifest.contributes.commands as { command: string; title: string; category?: string }[];

test('every setting has a description, a type and a default that fits its own schema', () => {
  assert.ok(Object.keys(settings).length >= 3);
  for (const [key, s] of Object.entries(settings)) {
    assert.ok(s.description || s.markdownDescription, `${key}: description`);
    assert.ok(s.type, `${key}: type`);
    assert.ok('default' in s, `${key}: default`);
    assert.equal(settingProblem(s.default, s), undefined, `${key}: its default fails its schema`);
    if (s.type === 'array') assert.ok(s.items?.type, `${key}: item type`);
  }
  assert.ok(settings['hlip.executionProviders'].items?.enum?.includes('cpu'), 'providers are an enum');
});

test('the validator rejects what the schema does not allow, with a phrase naming the problem', () => {
  const ep = settings['hlip.executionProviders'];
  assert.equal(settingProblem(['cuda', 'cpu'], ep), undefined);
  assert.match(settingProblem(['gpu'], ep) ?? '', /item that is "gpu", not one of/);
  assert.match(settingProblem(['cpu', 'cpu'], ep) ?? '', /twice/);
  assert.match(settingProblem('cuda', ep) ?? '', /should be array/);
  assert.match(settingProblem('yes', settings['hlip.showAttentionAfterClassify']) ?? '', /should be boolean/);
  const hub = settings['hlip.hubUrl'];
  assert.equal(settingProblem('https://hf-mirror.example.org', hub), undefined);
  if (hub.pattern) assert.ok(settingProblem('ftp://example.org', hub), 'the hub URL pattern is enforced');
});

test('every command is under "HLIP"; viewer-only ones are hidden from the palette elsewhere', () => {
  for (const c of commands) assert.equal(c.category, 'HLIP', c.command);
  const palette = new Map((manifest.contributes.menus.commandPalette as { command: string; when: string }[]).map((m) => [m.command, m.when]));
  for (const c of commands.filter((x) => x.command.startsWith('hlip.viewer.'))) {
    assert.match(palette.get(c.command) ?? '', /activeCustomEditorId == hlip\.volumeViewer/, `${c.command} needs a when clause`);
  }
});

test('the walkthrough: its commands are contributed, its media ship with the extension', () => {
  const ids = new Set(commands.map((c) => c.command));
  const [walkthrough] = manifest.contributes.walkthroughs;
  assert.ok(walkthrough.steps.length >= 5);
  for (const step of walkthrough.steps) {
    for (const m of (step.description as string).matchAll(/\(command:([\w.]+)/g)) assert.ok(ids.has(m[1]), `${step.id}: ${m[1]}`);
    assert.ok(existsSync(join(ROOT, step.media.markdown ?? step.media.image)), `${step.id}: media`);
  }
  for (const c of ['hlip.openSampleScan', 'hlip.useDemoModel', 'hlip.downloadModel', 'hlip.importCheckpoint', 'hlip.classifyStudy', 'hlip.showRuntimeInfo']) {
    assert.ok(walkthrough.steps.some((s: { description: string }) => s.description.includes(`command:${c}`)), c);
  }
});

test('remote and trust: runs on the workspace side; limited support declared with reasons', () => {
  assert.deepEqual(manifest.extensionKind, ['workspace']);
  for (const k of ['untrustedWorkspaces', 'virtualWorkspaces']) {
    const c = manifest.capabilities[k];
    assert.ok(c.supported === true || (c.supported === 'limited' && c.description.length > 20), k);
  }
  assert.ok(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations.includes('hlip.hubUrl'));
});
