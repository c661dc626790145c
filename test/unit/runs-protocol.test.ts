/** The Compare page's messages: what the host accepts from the page (untrusted: it renders file content) and back. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCompareHostMessage, parseCompareWebviewMessage } from '../../src/protocol-compare';

test('page -> host: requests validated, anything else dropped', () => {
  const req = (request: unknown, id: unknown = 1) => parseCompareWebviewMessage({ type: 'request', id, request });
  assert.deepEqual(req({ kind: 'exportChart', chartId: 'logged:auc (mri)', format: 'csv', content: 'ignored' }), {
    type: 'request', id: 1, request: { kind: 'exportChart', chartId: 'logged:auc (mri)', format: 'csv' },
  });
  assert.ok(req({ kind: 'exportChart', chartId: 'c', format: 'svg', content: '<svg xmlns="http://www.w3.org/2000/svg"/>' }));
  assert.equal(req({ kind: 'exportChart', chartId: 'c', format: 'svg', content: '<script>' }), undefined);
  assert.ok(req({ kind: 'exportChart', chartId: 'c', format: 'png', content: 'data:image/png;base64,iVBOR' }));
  assert.equal(req({ kind: 'exportChart', chartId: 'c', format: 'png', content: 'data:text/html;base64,PGI+' }), undefined);
  assert.equal(req({ kind: 'exportChart', chartId: 'c', format: 'exe', content: '' }), undefined);
  assert.deepEqual(req({ kind: 'showMap', checkpoint: 2, map: { kind: 'cls' } })?.type, 'request');
  assert.equal(req({ kind: 'showMap', checkpoint: -1, map: { kind: 'cls' } }), undefined);
  assert.equal(req({ kind: 'showMap', checkpoint: 0, map: { kind: 'prompt', text: 'x' } }), undefined);
  assert.equal(req({ kind: 'showMap', checkpoint: 0, map: { kind: 'cls' } }, 0), undefined, 'ids start at 1');
  assert.equal(req({ kind: 'runShell', command: 'rm -rf /' }), undefined);
  assert.deepEqual(parseCompareWebviewMessage({ type: 'drawn', charts: 3, ms: 12.5 }), { type: 'drawn', charts: 3, ms: 12.5 });
  assert.equal(parseCompareWebviewMessage({ type: 'drawn', charts: 'many', ms: 1 }), undefined);
  assert.equal(parseCompareWebviewMessage({ type: 'eval', code: '1' }), undefined);
  assert.equal(parseCompareWebviewMessage(null), undefined);
});

test('host -> page: shapes checked before the page draws', () => {
  assert.ok(parseCompareHostMessage({ type: 'runs', data: { runs: [], charts: [], diff: {} } }));
  assert.equal(parseCompareHostMessage({ type: 'runs', data: { runs: [] } }), undefined);
  assert.ok(parseCompareHostMessage({ type: 'reply', id: 3, ok: false, code: 'NO_CHART', message: 'gone' }));
  assert.equal(parseCompareHostMessage({ type: 'reply', id: 3, ok: false }), undefined);
  assert.ok(parseCompareHostMessage({ type: 'checkpoints', comparison: { sets: [] }, progress: { states: [] } }));
});
