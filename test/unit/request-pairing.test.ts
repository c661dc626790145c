/** Paired webview requests: each gets exactly its own reply or error, whatever order the replies come in. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHostMessage, parseWebviewMessage, type ViewerReplies, type ViewerRequest } from '../../src/protocol';
import { PendingRequests, type Reply, RequestFailed, answer } from '../../src/shared/request-pairing';
import { CodedError } from '../../src/shared/coded-error';

test('replies settle the request with the same id, in any order; errors carry the code', async () => {
  const sent: { id: number; request: ViewerRequest }[] = [];
  const requests = new PendingRequests<ViewerRequest, ViewerReplies>((id, request) => sent.push({ id, request }));
  const a = requests.request({ kind: 'scorePrompt', text: 'glioma' });
  const b = requests.request({ kind: 'exportResults', format: 'csv' });
  const c = requests.request({ kind: 'showMap', map: { kind: 'cls' } });
  assert.deepEqual(sent.map((s) => s.request.kind), ['scorePrompt', 'exportResults', 'showMap']);
  assert.equal(new Set(sent.map((s) => s.id)).size, 3, 'distinct ids');
  // Answered the way the host does, out of order.
  const replyC = await answer(sent[2].id, async () => {
    throw new CodedError('NOT_CLASSIFIED', 'Classify the study first.');
  });
  const replyA = await answer(sent[0].id, async () => ({ text: 'glioma', pieces: ['gli', '##oma'], score: 0.25, truncated: false }));
  const replyB = await answer(sent[1].id, async () => undefined);
  for (const r of [replyC, replyB, replyA]) assert.ok(requests.settle(parseHostMessage(r) as Reply));
  assert.deepEqual(await a, { text: 'glioma', pieces: ['gli', '##oma'], score: 0.25, truncated: false });
  assert.equal(await b, null);
  await assert.rejects(c, (e) => e instanceof RequestFailed && e.code === 'NOT_CLASSIFIED' && e.message === 'Classify the study first.');
  assert.equal(requests.size, 0);
  assert.equal(requests.settle(replyA), false, 'a second reply for the same id is ignored');
});

test('an error without a code still replies, as ERROR with its message', async () => {
  const r = await answer(7, async () => {
    throw new Error('boom');
  });
  assert.deepEqual(r, { type: 'reply', id: 7, ok: false, code: 'ERROR', message: 'boom' });
});

test('the host validates requests from the webview before acting on them', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'request', id: 3, request: { kind: 'scorePrompt', text: 'x' } }), { type: 'request', id: 3, request: { kind: 'scorePrompt', text: 'x' } });
  assert.deepEqual(parseWebviewMessage({ type: 'request', id: 4, request: { kind: 'showMap', map: { kind: 'diagnosis', set: 'mri', className: 'glioma' } } })?.type, 'request');
  for (const bad of [
    { type: 'request', request: { kind: 'classify' } }, // no id
    { type: 'request', id: 0, request: { kind: 'classify' } },
    { type: 'request', id: 1.5, request: { kind: 'classify' } },
    { type: 'request', id: 1, request: { kind: 'scorePrompt', text: '   ' } },
    { type: 'request', id: 1, request: { kind: 'exportResults', format: 'xml' } },
    { type: 'request', id: 1, request: { kind: 'showMap', map: { kind: 'diagnosis', set: 'mri' } } },
    { type: 'request', id: 1, request: { kind: 'runShell', cmd: 'rm -rf /' } },
    { type: 'scorePrompt', text: 'unpaired requests are gone' },
  ]) assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
  assert.equal(parseHostMessage({ type: 'reply', id: 2, ok: false }), undefined, 'an error reply needs a code and a message');
});
