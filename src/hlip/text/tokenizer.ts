/**
 * The HLIP text tokeniser: open_clip HFTokenizer in front of Hugging Face's BertTokenizerFast (uncased WordPiece,
 * BiomedBERT vocab.txt). Steps, in the order the Python stack runs them:
 *   1. open_clip clean-up (text-clean.ts): ftfy-like fixes, html.unescape x2, whitespace collapsed;
 *   2. special tokens written literally in the text ("[MASK]") are kept whole, as HF's added-token matching does;
 *   3. BertNormalizer: drop NUL / U+FFFD / control (Cc Cf Cs Co Cn but tab, LF, CR), whitespace -> ' ', space
 *      around CJK ideographs, NFD + drop Mn, then lower-case code point by code point (the Rust tokenizer does not
 *      apply Python's final-sigma rule);
 *   4. BertPreTokenizer: split on whitespace, each punctuation character (ASCII punctuation or Unicode P*) alone;
 *   5. WordPiece: greedy longest match first, '##' continuation, [UNK] for a word over 100 code points or with an
 *      unmatched rest;
 *   6. [CLS] pieces [SEP], truncated to contextLength keeping [SEP] last, right-padded with [PAD];
 *      attention mask = ids != [PAD] (open_clip HFTextEncoder).
 */
import { readFileSync } from 'node:fs';
import { cleanText, isPythonSpace } from './text-clean';

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
export const DEFAULT_CONTEXT_LENGTH = 256;
const MAX_CHARS_PER_WORD = 100;

export interface Encoding {
  /** [contextLength] token ids. */
  ids: Int32Array;
  /** [contextLength] 1 where ids != [PAD], else 0. */
  mask: Int32Array;
  /** The tokens before padding, [CLS] and [SEP] included. */
  pieces: string[];
  /** Word pieces were dropped to fit contextLength. */
  truncated: boolean;
}

export interface BatchEncoding {
  /** [n * L] row-major, ready for an onnxruntime int64 tensor of dims [n, L]. */
  ids: BigInt64Array;
  mask: BigInt64Array;
  n: number;
  L: number;
}

const isControl = (ch: string) => ch !== '\t' && ch !== '\n' && ch !== '\r' && /^\p{C}$/u.test(ch);
const isBertSpace = (ch: string) => ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || /^\p{Zs}$/u.test(ch) || isPythonSpace(ch);
const isPunct = (ch: string) => {
  const c = ch.codePointAt(0)!;
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126) || /^\p{P}$/u.test(ch);
};
/** BERT's "Chinese character" blocks (CJK Unified Ideographs and extensions, compatibility ideographs). */
const isCjk = (c: number) =>
  (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x20000 && c <= 0x2a6df) ||
  (c >= 0x2a700 && c <= 0x2b73f) || (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b820 && c <= 0x2ceaf) ||
  (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);

/** BertNormalizer(clean_text, handle_chinese_chars, strip_accents, lowercase). */
export function bertNormalize(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c === 0 || c === 0xfffd || isControl(ch)) continue;
    if (isBertSpace(ch)) out += ' ';
    else if (isCjk(c)) out += ` ${ch} `;
    else out += ch;
  }
  let lowered = '';
  for (const ch of out.normalize('NFD')) if (!/^\p{Mn}$/u.test(ch)) lowered += ch.toLowerCase();
  return lowered;
}

/** BertPreTokenizer: whitespace-separated words, every punctuation character a word of its own. */
export function preTokenize(normalized: string): string[] {
  const words: string[] = [];
  let cur = '';
  for (const ch of normalized) {
    if (isBertSpace(ch)) {
      if (cur) words.push(cur);
      cur = '';
    } else if (isPunct(ch)) {
      if (cur) words.push(cur);
      words.push(ch);
      cur = '';
    } else cur += ch;
  }
  if (cur) words.push(cur);
  return words;
}

const SPECIAL_RE = new RegExp(`(${SPECIAL_TOKENS.map((t) => t.replace(/[[\]]/g, '\\$&')).join('|')})`);

export class WordPieceTokenizer {
  readonly vocab: Map<string, number>;
  readonly padId: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;

  constructor(tokens: readonly string[]) {
    // Later duplicates win, as in HF's load_vocab (a dict filled line by line).
    this.vocab = new Map(tokens.map((t, i) => [t, i]));
    const id = (t: string) => {
      const v = this.vocab.get(t);
      if (v === undefined) throw new Error(`vocab has no ${t} token`);
      return v;
    };
    this.padId = id('[PAD]');
    this.unkId = id('[UNK]');
    this.clsId = id('[CLS]');
    this.sepId = id('[SEP]');
  }

  get size(): number {
    return this.vocab.size;
  }

  /** vocab.txt: one token per line, id = line number; Python's universal newlines (\n, \r\n, \r) end lines. */
  static fromText(text: string): WordPieceTokenizer {
    const lines = text.split(/\r\n|\r|\n/);
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return new WordPieceTokenizer(lines);
  }

  static fromFile(vocabPath: string): WordPieceTokenizer {
    return WordPieceTokenizer.fromText(readFileSync(vocabPath, 'utf8'));
  }

  /** One pre-tokenised word -> WordPiece tokens. */
  wordPiece(word: string): string[] {
    const chars = Array.from(word);
    if (chars.length > MAX_CHARS_PER_WORD) return ['[UNK]'];
    const out: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | undefined;
      while (start < end) {
        const sub = (start > 0 ? '##' : '') + chars.slice(start, end).join('');
        if (this.vocab.has(sub)) {
          found = sub;
          break;
        }
        end--;
      }
      if (found === undefined) return ['[UNK]'];
      out.push(found);
      start = end;
    }
    return out;
  }

  /** Cleaned, normalised, split and WordPiece'd tokens without [CLS]/[SEP]. */
  tokenize(text: string, opts: { fix?: boolean } = {}): string[] {
    const pieces: string[] = [];
    for (const part of cleanText(text, opts).split(SPECIAL_RE)) {
      if ((SPECIAL_TOKENS as readonly string[]).includes(part) && this.vocab.has(part)) pieces.push(part);
      else for (const w of preTokenize(bertNormalize(part))) pieces.push(...this.wordPiece(w));
    }
    return pieces;
  }

  encode(text: string, contextLength = DEFAULT_CONTEXT_LENGTH, opts: { fix?: boolean } = {}): Encoding {
    if (contextLength < 2) throw new Error('contextLength must leave room for [CLS] and [SEP]');
    const all = this.tokenize(text, opts);
    const body = all.slice(0, contextLength - 2);
    const pieces = ['[CLS]', ...body, '[SEP]'];
    const ids = new Int32Array(contextLength).fill(this.padId);
    pieces.forEach((p, i) => (ids[i] = this.vocab.get(p) ?? this.unkId));
    const mask = ids.map((v) => (v !== this.padId ? 1 : 0));
    return { ids, mask, pieces, truncated: body.length < all.length };
  }

  encodeBatch(texts: readonly string[], contextLength = DEFAULT_CONTEXT_LENGTH): BatchEncoding {
    const n = texts.length;
    const L = contextLength;
    const ids = new BigInt64Array(n * L);
    const mask = new BigInt64Array(n * L);
    texts.forEach((t, r) => {
      const e = this.encode(t, L);
      for (let i = 0; i < L; i++) {
        ids[r * L + i] = BigInt(e.ids[i]);
        mask[r * L + i] = BigInt(e.mask[i]);
      }
    });
    return { ids, mask, n, L };
  }
}

/**
 * The batch cut to its longest row: padded positions get exactly zero attention weight, so the text tower's output is
 * the same, and short prompts cost a fraction of the 256-token context (the class-embedding pass runs ~3000 prompts).
 * Token ids written for users (embed-text) keep the full context length as HLIP does.
 */
export function trimPadding(b: BatchEncoding): BatchEncoding {
  let len = 1;
  for (let r = 0; r < b.n; r++) for (let i = b.L - 1; i >= len; i--) if (b.mask[r * b.L + i] !== 0n) { len = i + 1; break; }
  if (len === b.L) return b;
  const ids = new BigInt64Array(b.n * len), mask = new BigInt64Array(b.n * len);
  for (let r = 0; r < b.n; r++) {
    ids.set(b.ids.subarray(r * b.L, r * b.L + len), r * len);
    mask.set(b.mask.subarray(r * b.L, r * b.L + len), r * len);
  }
  return { ids, mask, n: b.n, L: len };
}
