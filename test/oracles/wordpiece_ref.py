"""Reference BERT uncased WordPiece tokeniser, written from the algorithm (BERT's BasicTokenizer / WordpieceTokenizer
and the Rust BertNormalizer + BertPreTokenizer that transformers' BertTokenizerFast runs), in front of open_clip's
HFTokenizer clean-up without ftfy (not installed here): html.unescape twice, ' '.join(text.split()).

Usage: wordpiece_ref.py request.json  -> prints JSON [[ids...], ...]
request: {"vocab": path, "texts": [...], "context_length": 256}
"""
import html
import json
import re
import sys
import unicodedata

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def load_vocab(path):
    vocab = {}
    with open(path, encoding="utf-8") as f:  # universal newlines, as transformers' load_vocab
        for i, line in enumerate(f):
            vocab[line.rstrip("\n")] = i
    return vocab


def clean(text):
    text = html.unescape(html.unescape(text)).strip()
    return " ".join(text.split())


def is_cjk(cp):
    blocks = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
              (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]
    return any(a <= cp <= b for a, b in blocks)


def is_space(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs" or ch.isspace()


def is_control(ch):
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def normalize(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or is_control(ch):
            continue
        if is_space(ch):
            out.append(" ")
        elif is_cjk(cp):
            out.extend([" ", ch, " "])
        else:
            out.append(ch)
    text = unicodedata.normalize("NFD", "".join(out))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    # Rust lower-cases one code point at a time: no final-sigma context, unlike Python's str.lower().
    return "".join(ch.lower() for ch in text)


def pre_tokenize(text):
    words, cur = [], []
    for ch in text:
        if is_space(ch) or is_punct(ch):
            if cur:
                words.append("".join(cur))
                cur = []
            if not is_space(ch):
                words.append(ch)
        else:
            cur.append(ch)
    if cur:
        words.append("".join(cur))
    return words


def wordpiece(word, vocab):
    if len(word) > 100:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            sub = ("##" if start else "") + word[start:end]
            if sub in vocab:
                pieces.append(sub)
                start = end
                break
        else:
            return ["[UNK]"]
    return pieces


def encode(text, vocab, length):
    tokens = []
    for part in re.split("(" + "|".join(re.escape(s) for s in SPECIALS) + ")", clean(text)):
        if part in SPECIALS and part in vocab:
            tokens.append(part)
            continue
        for w in pre_tokenize(normalize(part)):
            tokens.extend(wordpiece(w, vocab))
    tokens = ["[CLS]"] + tokens[: length - 2] + ["[SEP]"]
    ids = [vocab.get(t, vocab["[UNK]"]) for t in tokens]
    return ids + [vocab["[PAD]"]] * (length - len(ids))


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        req = json.load(f)
    vocab = load_vocab(req["vocab"])
    print(json.dumps([encode(t, vocab, req["context_length"]) for t in req["texts"]]))


if __name__ == "__main__":
    main()
