/** The HLIP tokeniser against an independent Python reference (test/oracles/wordpiece_ref.py) and Python's html. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cleanText, fixText, htmlUnescape } from '../../src/hlip/text/text-clean';
import { WordPieceTokenizer } from '../../src/hlip/text/tokenizer';
import { buildDemoVocab } from '../../src/hlip/demo/demo-vocab';
import { flattenPrompts, promptsFor, zeroShotSets } from '../../src/hlip/classify/zero-shot';
import { ROOT, SYSTEM_PYTHON } from '../fixtures';
import { tempDir } from '../oracles';

// The demo vocab plus pieces that make the non-ASCII cases split into real tokens instead of all-[UNK].
const VOCAB = [
  ...buildDemoVocab(),
  ...['α', 'β', 'οδος', '##ος', 'σ', 'мозг', '##а', 'мо', '中', '文', '脑', 'ب', 'د', '😀', 'cafe', 'nino', 'uber', 'ß', '##ß', 'ﬁ', 'ı', 'hemo', '##rrhage', 'x²', '°'],
];

const TEXTS = [
  'This study shows: acute ischemic stroke.',
  'THIS STUDY SHOWS: Acute Ischemic STROKE!!',
  'hemorrhages, (left) 5.5mm; p<0.05 & q>1 [sic] {a|b} ~x^y_z `q` $10 + 3% = @home #1 "quoted"',
  'Tom &amp; Jerry &lt;b&gt; it&#39;s &#x27;x&#x27; &amp;amp; double &amp;lt; &copy 2024 &amplifier &notit; &unknown;',
  '&#0; &#128; &#150; &#xD800; &#1114112; &#11; &#65 &#X41; &AMP; &eacute &Eacute;',
  'Café niño Über naïve résumé Ångström İstanbul',
  '“curly” ‘quotes’ — dash… ellipsis',
  'ΟΔΟΣ οδος Σίσυφος αβ', // Greek: final sigma lower-cased per code point
  'мозг МОЗГА', // Cyrillic
  '脑出血 中文text混合', // CJK
  'نزيف دماغي', // Arabic
  'emoji 😀 inside😀word 👍🏽 ❤️',
  'tab\there\nnew\r\nline\u000bvt\u000cff\u001cfs\u0085nel\u00a0nbsp\u2003em\u3000ideo',
  'zero\u200bwidth soft\u00adhyphen bom\ufeffx nul\u0000 repl\ufffd ctrl\u0007 del\u007f',
  'x'.repeat(101) + ' ' + 'y'.repeat(100),
  'pneumo'.repeat(30),
  Array.from({ length: 300 }, (_, i) => `w${i}`).join(' '),
  '',
  '   ',
  '[MASK] is [CLS]ed; [mask] [SEP][PAD] [UNK]x',
  'x² 37°C ½ ﬁne ǅ ＣＴ ı ß ẞ',
  'a\u0301e\u0300 combining, \u{1D400}\u{1D41A} math bold, \u{20000} ext-B',
];

function reference(texts: string[], vocabPath: string, contextLength: number): number[][] {
  const dir = tempDir('wp');
  const req = join(dir, 'req.json');
  writeFileSync(req, JSON.stringify({ vocab: vocabPath, texts, context_length: contextLength }));
  const out = execFileSync(SYSTEM_PYTHON, [join(ROOT, 'test', 'oracles', 'wordpiece_ref.py'), req], { maxBuffer: 1 << 28 });
  return JSON.parse(out.toString('utf8'));
}

function writeVocab(tokens: string[]): string {
  const p = join(tempDir('vocab'), 'vocab.txt');
  writeFileSync(p, tokens.join('\n') + '\n');
  return p;
}

test('ids equal the Python reference on varied text (clean-up without ftfy)', () => {
  const path = writeVocab(VOCAB);
  const tk = WordPieceTokenizer.fromFile(path);
  const ref = reference(TEXTS, path, 256);
  TEXTS.forEach((t, i) => assert.deepEqual(Array.from(tk.encode(t, 256, { fix: false }).ids), ref[i], JSON.stringify(t)));
  // With ftfy on, texts it leaves alone must give the same ids; the others differ exactly where ftfy acts.
  let same = 0;
  TEXTS.forEach((t, i) => {
    if (fixText(t) !== t) return;
    same++;
    assert.deepEqual(Array.from(tk.encode(t).ids), ref[i], JSON.stringify(t));
  });
  assert.ok(same >= 12, `${same} texts untouched by the ftfy step`);
});

test('ids equal the Python reference on every zero-shot prompt text, at two context lengths', () => {
  const texts = [...new Set(Object.values(zeroShotSets()).flatMap((s) => flattenPrompts(promptsFor(s)).texts))];
  assert.equal(texts.length, 2283); // 3003 texts over the five sets, many shared between MRI, CT and RSNA
  const path = writeVocab(VOCAB);
  const tk = WordPieceTokenizer.fromFile(path);
  for (const L of [256, 8]) {
    const ref = reference(texts, path, L);
    texts.forEach((t, i) => assert.deepEqual(Array.from(tk.encode(t, L).ids), ref[i], t));
  }
  // The demo vocab covers every prompt word whole: no [UNK] and no '##' split in any prompt.
  const demo = new WordPieceTokenizer(buildDemoVocab());
  for (const t of texts) assert.ok(demo.tokenize(t).every((p) => p !== '[UNK]' && !p.startsWith('##')), t);
});

test('html unescape matches Python html.unescape', () => {
  const cases = [
    '&amp;', '&amp;amp;', '&lt;&gt;&quot;&apos;&#39;&#x27;', '&copy', '&copy;', '&amplifier', '&notit;', '&notin;',
    '&#0;', '&#13;', '&#128;', '&#150;', '&#1;', '&#x7f;', '&#xfdd0;', '&#xD800;', '&#1114112;', '&#99999999999999999999;',
    '&#65', '&#x41g', '&#X41;', '&AMP;', '&Amp;', '&eacute', '&EACUTE;', '&unknown;', '& amp;', '&&amp;;', '&#;', '&#x;',
    '&nbsp;x', '&NotNestedGreaterGreater;', '&acE;', '&b.eta;', '&fjlig;', '&' + 'a'.repeat(40) + ';', 'plain',
  ];
  const py = execFileSync(SYSTEM_PYTHON, ['-c', 'import html,json,sys; print(json.dumps([html.unescape(s) for s in json.load(sys.stdin)]))'], {
    input: JSON.stringify(cases),
  });
  const want = JSON.parse(py.toString('utf8')) as string[];
  cases.forEach((c, i) => assert.equal(htmlUnescape(c), want[i], c));
});

test('ftfy-like fixes (hand-checked against ftfy.fix_text behaviour)', () => {
  const cases: [string, string][] = [
    ['cafÃ©', 'café'], // UTF-8 read as Latin-1
    ['itâ€™s', "it's"], // ... as Windows-1252, then the curly quote straightened
    ['â€œhiâ€\u009d', '"hi"'], // sloppy-1252: U+009D stands for byte 0x9D
    ['cafÃƒÂ©', 'café'], // mojibake twice
    ['Ð¼Ð¾Ð·Ð³', 'мозг'],
    ['Î±-synuclein', 'α-synuclein'],
    ['“curly” ‘single’ ‛rev‟', '"curly" \'single\' \'rev"'],
    ['ﬁbrosis ﬂow ﬃ ĳ', 'fibrosis flow ffi ij'],
    ['ＣＴ　ｓｃａｎ！', 'CT scan!'],
    ['caf\u0065\u0301', 'café'], // NFC
    ['a\u001fb\u000bc\u007fd\u200be', 'abcd\u200be'], // ftfy drops C0 controls (not U+200B: BERT does that)
    ['x\u0085y', 'x…y'], // C1 control as Windows-1252
    ['\u001b[31mred\u001b[0m', 'red'],
    ['&EACUTE;t&eacute; &amp;amp;amp;', 'Été &'], // ftfy unescapes until stable
    ['<b>&amp;amp;amp;</b>', '<b>&amp;amp;amp;</b>'], // a line with '<' is left to html.unescape
    ['CAFÉ’S', "CAFÉ'S"], // real accented capital + quote is not mojibake
    ['naïve façade Ñandú', 'naïve façade Ñandú'],
    ['lone \ud800 surrogate', 'lone \ufffd surrogate'],
  ];
  for (const [input, want] of cases) assert.equal(fixText(input), want, JSON.stringify(input));
  assert.equal(cleanText('  <b>&amp;amp;amp;</b>\n\n x '), '<b>&amp;</b> x'); // then html.unescape x2, whitespace
  assert.equal(cleanText('a\u2003\u2003b\u00a0c'), 'a b c');
});

test('structure: [CLS] ... [SEP], truncation keeps [SEP], padding, mask, long words, specials from the vocab', () => {
  const tk = new WordPieceTokenizer(buildDemoVocab());
  assert.deepEqual([tk.padId, tk.unkId, tk.clsId, tk.sepId], [0, 1, 2, 3]);
  const empty = tk.encode('');
  assert.deepEqual(empty.pieces, ['[CLS]', '[SEP]']);
  assert.deepEqual(Array.from(empty.ids.slice(0, 3)), [2, 3, 0]);
  assert.equal(empty.mask.reduce((a, b) => a + b, 0), 2);
  assert.equal(empty.ids.length, 256);

  const long = tk.encode(Array.from({ length: 400 }, () => 'stroke').join(' '));
  assert.equal(long.pieces.length, 256);
  assert.equal(long.ids[0], 2);
  assert.equal(long.ids[255], 3);
  assert.ok(long.mask.every((m) => m === 1));
  assert.equal(long.truncated, true);
  assert.equal(tk.encode('stroke', 3).truncated, false);
  assert.equal(tk.encode('acute stroke', 3).truncated, true);

  assert.deepEqual(tk.tokenize('x'.repeat(101)), ['[UNK]']);
  assert.equal(tk.tokenize('x'.repeat(100)).length, 100);
  assert.deepEqual(tk.tokenize('Hemorrhages!'), ['hemorrhage', '##s', '!']);

  // bert-base-uncased layout: specials elsewhere, ids come from the file; CRLF lines as Python reads them.
  const base = ['[PAD]', ...Array.from({ length: 99 }, (_, i) => `[unused${i}]`), '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'stroke', '##s'];
  const other = WordPieceTokenizer.fromText(base.join('\r\n') + '\r\n');
  assert.deepEqual([other.padId, other.unkId, other.clsId, other.sepId], [0, 100, 101, 102]);
  assert.deepEqual(Array.from(other.encode('The strokes zz', 8).ids), [101, 104, 105, 106, 100, 102, 0, 0]);
  assert.throws(() => new WordPieceTokenizer(['[UNK]', '[CLS]', '[SEP]']), /\[PAD\]/);
});

test('encodeBatch gives int64 [n, L] ids and mask', () => {
  const tk = new WordPieceTokenizer(buildDemoVocab());
  const b = tk.encodeBatch(['glioma', 'This study shows: glioma.'], 16);
  assert.equal(b.n, 2);
  assert.equal(b.L, 16);
  assert.ok(b.ids instanceof BigInt64Array && b.mask instanceof BigInt64Array);
  assert.equal(b.ids.length, 32);
  const one = tk.encode('This study shows: glioma.', 16);
  assert.deepEqual(Array.from(b.ids.slice(16), Number), Array.from(one.ids));
  assert.deepEqual(Array.from(b.mask.slice(0, 4), Number), [1, 1, 1, 0]);
});

test('demo vocab is deterministic, BiomedBERT special ids, no duplicates', () => {
  const a = buildDemoVocab();
  assert.deepEqual(a, buildDemoVocab());
  assert.deepEqual(a.slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  assert.equal(new Set(a).size, a.length);
  for (const t of ['a', 'z', '0', '##a', '##9', '.', ':', 'this', 'study', 'shows', 'glioma']) assert.ok(a.includes(t), t);
});
