/**
 * The text clean-up open_clip's HFTokenizer applies before BERT sees a prompt (`clean='whitespace'`):
 * `ftfy.fix_text`, `html.unescape` twice, strip, whitespace runs collapsed. ftfy and Python's `html` module are
 * reimplemented here so ids match the Python tokenizer on the text people actually type or paste.
 *
 * ftfy coverage: HTML entities (ftfy's own `;`-terminated pass, repeated until stable, skipped on lines holding '<'),
 * UTF-8 mojibake read as Latin-1 / Windows-1252 (e.g. "Ã©" -> "é", "â€™" -> "’"), C1 controls as Windows-1252,
 * Latin ligatures, full-width characters, curly quotes, line breaks, lone surrogates, terminal escapes, control
 * characters, NFC. Not covered: ftfy's other legacy encodings (MacRoman, cp437, cp1251 ...), its "badness" scoring
 * (approximated by the rules in `fixMojibake`), restore_byte_a0 and replace_lossy_sequences.
 */
import entityData from './html-entities.json';

// src/hlip/text/html-entities.json holds the WHATWG table as Python's stdlib has it; regenerate with:
// python3 -c "import html,html.entities,json; print(json.dumps({'entities':html.entities.html5,
//   'invalidCharrefs':{str(k):v for k,v in html._invalid_charrefs.items()},'invalidCodepoints':sorted(html._invalid_codepoints)}))"
const ENTITIES = new Map(Object.entries((entityData as { entities: Record<string, string> }).entities));
const INVALID_CHARREFS = new Map(
  Object.entries((entityData as { invalidCharrefs: Record<string, string> }).invalidCharrefs).map(([k, v]) => [Number(k), v]),
);
const INVALID_CODEPOINTS = new Set((entityData as { invalidCodepoints: number[] }).invalidCodepoints);

/** Python's str.isspace() set: what `str.split()` / `str.strip()` (open_clip's whitespace_clean) split on. */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPACE_RUN = new RegExp(`[${PY_SPACE}]+`, 'g');
const PY_SPACE_CHAR = new RegExp(`^[${PY_SPACE}]$`);
export const isPythonSpace = (ch: string): boolean => PY_SPACE_CHAR.test(ch);

// ---------------------------------------------------------------------------------------------------------------
// Python html.unescape

const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

function replaceCharref(s: string): string {
  if (s[0] === '#') {
    const digits = s.replace(/;$/, '');
    const num = digits[1] === 'x' || digits[1] === 'X' ? parseInt(digits.slice(2), 16) : parseInt(digits.slice(1), 10);
    const fixed = INVALID_CHARREFS.get(num);
    if (fixed !== undefined) return fixed;
    if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
    if (INVALID_CODEPOINTS.has(num)) return '';
    return String.fromCodePoint(num);
  }
  const whole = ENTITIES.get(s);
  if (whole !== undefined) return whole;
  // Longest prefix that is a legacy (semicolon-less) entity, as the HTML5 spec and Python do: "&amplifier" -> "&lifier".
  const cps = Array.from(s);
  for (let x = cps.length - 1; x > 1; x--) {
    const v = ENTITIES.get(cps.slice(0, x).join(''));
    if (v !== undefined) return v + cps.slice(x).join('');
  }
  return '&' + s;
}

/** Python's `html.unescape`. */
export function htmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARREF, (_m, s: string) => replaceCharref(s));
}

// ---------------------------------------------------------------------------------------------------------------
// ftfy.fix_text

// ftfy's entity table: `;`-terminated HTML5 names, plus upper-cased spellings of lower-case names ("&EACUTE;" -> "É")
// when the upper-case spelling means nothing to html.unescape.
const FTFY_ENTITIES = (() => {
  const m = new Map<string, string>();
  for (const [name, ch] of ENTITIES) {
    if (!name.endsWith(';')) continue;
    m.set('&' + name, ch);
    if (name === name.toLowerCase()) {
      const upper = '&' + name.toUpperCase();
      if (htmlUnescape(upper) === upper) m.set(upper, ch.toUpperCase());
    }
  }
  return m;
})();

function ftfyUnescape(text: string): string {
  return text.replace(/&#?[0-9A-Za-z]{1,24};/g, (m) => {
    const named = FTFY_ENTITIES.get(m);
    if (named !== undefined) return named;
    if (m.startsWith('&#')) {
      const u = htmlUnescape(m);
      return u.includes(';') ? m : u;
    }
    return m;
  });
}

/** Windows-1252 bytes 0x80-0x9F; "sloppy": the five undefined bytes decode to the C1 control of the same value. */
const CP1252_HIGH =
  '\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f' +
  '\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178';
/** Character -> the byte it came from when UTF-8 was decoded as Latin-1 or Windows-1252 (0x80-0xFF only). */
const BYTE_OF = new Map<string, number>();
for (let b = 0x80; b <= 0xff; b++) BYTE_OF.set(String.fromCharCode(b), b);
for (let i = 0; i < 32; i++) BYTE_OF.set(CP1252_HIGH[i], 0x80 + i);

const CONT = `\\x80-\\xbf${[...CP1252_HIGH].filter((c) => c.charCodeAt(0) > 0xff).join('')}`;
/** A UTF-8 lead byte followed by its continuation bytes, each seen as a Latin-1 / Windows-1252 character. */
const MOJIBAKE = new RegExp(`[\\xc2-\\xdf][${CONT}]|[\\xe0-\\xef][${CONT}]{2}|[\\xf0-\\xf4][${CONT}]{3}`, 'g');
/** Continuations that also follow an accented capital in real text ("CAFÉ’S", "É»"); only Â/Ã leads accept them. */
const TEXT_PUNCT = new Set([...'\u2018\u2019\u201a\u201c\u201d\u201e\u2013\u2014\u2026\u00ab\u00bb\u00a0']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** ftfy's decode_inconsistent_utf8 in small: re-decode runs that are valid UTF-8 once mapped back to bytes. */
function fixMojibake(text: string): string {
  return text.replace(MOJIBAKE, (m) => {
    // Â and Ã lead every Latin-1 character (U+0080-U+00FF) in mojibake and rarely precede these symbols otherwise;
    // other two-byte leads stand for Greek/Cyrillic/... and are accepted unless followed by ordinary punctuation.
    if (m.length === 2 && m[0] !== '\xc2' && m[0] !== '\xc3' && TEXT_PUNCT.has(m[1])) return m;
    try {
      return utf8.decode(Uint8Array.from([...m].map((c) => BYTE_OF.get(c)!)));
    } catch {
      return m; // overlong, surrogate or out-of-range sequence: not mojibake
    }
  });
}

const LIGATURES: Record<string, string> = {
  '\u0132': 'IJ', '\u0133': 'ij', '\u0149': '\u02bcn', '\u01f1': 'DZ', '\u01f2': 'Dz', '\u01f3': 'dz',
  '\u01c4': 'D\u017d', '\u01c5': 'D\u017e', '\u01c6': 'd\u017e', '\u01c7': 'LJ', '\u01c8': 'Lj', '\u01c9': 'lj',
  '\u01ca': 'NJ', '\u01cb': 'Nj', '\u01cc': 'nj', '\ufb00': 'ff', '\ufb01': 'fi', '\ufb02': 'fl', '\ufb03': 'ffi',
  '\ufb04': 'ffl', '\ufb05': '\u017ft', '\ufb06': 'st',
};
const LIGATURE_RE = new RegExp(`[${Object.keys(LIGATURES).join('')}]`, 'g');

function fixWidth(text: string): string {
  // ftfy: ideographic space -> space; U+FF01-U+FFEF (full/half-width forms) -> their NFKC form.
  return text.replace(/[\u3000\uff01-\uffef]/g, (c) => (c === '\u3000' ? ' ' : c.normalize('NFKC')));
}

/** Lone surrogates become U+FFFD (JS strings already pair valid ones). */
const fixSurrogates = (text: string): string => text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

const CONTROL_CHARS = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;

function fixSegment(segment: string): string {
  const unescape = !segment.includes('<'); // ftfy's unescape_html="auto": a line with '<' may be HTML source
  let text = segment;
  for (let round = 0; round < 16; round++) {
    const before = text;
    if (unescape) text = ftfyUnescape(text);
    for (let i = 0; i < 4; i++) {
      const fixed = fixMojibake(text); // repeated: double mojibake ("ÃƒÂ©") peels one layer per pass
      if (fixed === text) break;
      text = fixed;
    }
    text = text.replace(/[\x80-\x9f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]);
    text = text.replace(LIGATURE_RE, (c) => LIGATURES[c]);
    text = fixWidth(text);
    text = text.replace(/[\u02bc\u2018-\u201b]/g, "'").replace(/[\u201c-\u201f]/g, '"');
    text = text.replace(/\r\n/g, '\n').replace(/[\r\u2028\u2029\u0085]/g, '\n');
    text = fixSurrogates(text);
    text = text.replace(/\x1b\[[0-9;]*[a-zA-Z]/g, '');
    text = text.replace(CONTROL_CHARS, '');
    text = text.normalize('NFC');
    if (text === before) break;
  }
  return text;
}

/** An ftfy `fix_text` work-alike (see the module comment for what it covers). ftfy works line by line. */
export function fixText(text: string): string {
  return text.split(/(?<=\n)/).map(fixSegment).join('');
}

/** open_clip's `whitespace_clean`: Python `' '.join(text.split())`. */
export const whitespaceClean = (text: string): string => text.split(PY_SPACE_RUN).filter((s) => s !== '').join(' ');

/**
 * open_clip's `_clean_whitespace(basic_clean(text))`. `fix: false` skips the ftfy step (tests compare that path with
 * a Python reference that has no ftfy).
 */
export function cleanText(text: string, opts: { fix?: boolean } = {}): string {
  let t = opts.fix === false ? text : fixText(text);
  t = htmlUnescape(htmlUnescape(t));
  return whitespaceClean(t);
}
