/**
 * A small deterministic WordPiece vocabulary for the embedded random-weight demo model and for tests.
 * It is NOT BiomedBERT's vocab (30522 entries, shipped with a downloaded checkpoint as vocab.txt); it only keeps the
 * BiomedBERT special-token ids so code paths match: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4.
 * Layout: specials; single characters (ASCII punctuation, digits, a-z) and their '##' forms for digits and letters,
 * so every ASCII word tokenises without [UNK]; common '##' suffixes; then every word of the zero-shot prompts,
 * class names and templates (models/zeroshot.json), sorted. Changing this list changes the demo model's text
 * embedding table, so keep it append-only in spirit and deterministic.
 */
import zeroshotJson from '../../../models/zeroshot.json';
import { SPECIAL_TOKENS, bertNormalize, preTokenize } from '../text/tokenizer';
import type { RawSet } from '../classify/zero-shot';

const SUFFIXES = ['s', 'es', 'ed', 'ing', 'al', 'ic', 'ly', 'ion', 'tion', 'oma', 'omas', 'itis', 'osis', 'ous', 'ary', 'ia', 'ity', 'ment', 'er'];

export function buildDemoVocab(): string[] {
  const chars: string[] = [];
  for (let c = 33; c <= 126; c++) {
    const ch = String.fromCharCode(c);
    if (!/[a-zA-Z0-9]/.test(ch)) chars.push(ch); // ASCII punctuation: BERT splits each one off
  }
  const digits = [...'0123456789'];
  const letters = [...'abcdefghijklmnopqrstuvwxyz'];
  const singles = [...chars, ...digits, ...letters, ...digits.map((d) => '##' + d), ...letters.map((l) => '##' + l)];

  const words = new Set<string>();
  const sets = (zeroshotJson as { sets: Record<string, RawSet> }).sets;
  for (const id of Object.keys(sets).sort()) {
    const s = sets[id];
    const texts = [...s.classnames, ...s.prompts, ...(s.negative_prompts ?? []), ...s.templates.map((t) => t.replace('{}', ' ')), s.template_exception?.text ?? ''];
    for (const t of texts) for (const w of preTokenize(bertNormalize(t))) words.add(w);
  }
  const taken = new Set<string>([...SPECIAL_TOKENS, ...singles]);
  const suffixes = SUFFIXES.map((s) => '##' + s).filter((s) => !taken.has(s));
  suffixes.forEach((s) => taken.add(s));
  const rest = [...words].filter((w) => !taken.has(w)).sort();
  return [...SPECIAL_TOKENS, ...singles, ...suffixes, ...rest];
}
