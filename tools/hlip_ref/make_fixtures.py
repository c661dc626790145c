"""Parity fixtures for the TypeScript HLIP side: small random-weight HLIP models, inputs and reference outputs.

usage: /usr/bin/python3 tools/hlip_ref/make_fixtures.py OUTDIR

One case per variant in models/hlip-variants.json (same depth, attention schedule, patch size, pooling, register
tokens, sequence embedding; small width and a 2 x 4 x 4 patch grid per scan), plus `visual-only` and `text-only`
checkpoints. The layout is described in tools/hlip_ref/README.md. Expected outputs are computed in float64 from the
float32 weights and inputs, then stored as float32, so they are the exact answer for the stored numbers.
"""
import json
import math
import os
import sys
import unicodedata
import zlib
from collections import OrderedDict

import numpy as np
import torch

sys.dont_write_bytecode = True  # no __pycache__ in the work tree (.gitignore does not cover it)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import HLIPClip, TextCfg, VisualCfg, schedule_of  # noqa: E402
from safetensors_io import save_file  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
CONTEXT = 256
EIGHT_SCAN_VARIANT = 'vit_base_multiscan_h2_dinotxt1568'  # patch 6 with a sequence embedding: positions 0..7
HF_VARIANT = 'ablate_seqposemb_vit_base_multiscan_h2_dinotxt1568'  # the released HF model; used by the partial cases
BIOMEDBERT = 'microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext'


# ----------------------------------------------------------------------------------------------------------------------
# vocab + a minimal BERT-uncased WordPiece, only to turn the sample sentences into ids


def make_vocab():
    special = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']  # BiomedBERT's order: PAD 0 .. MASK 4
    punct = list('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~')
    chars = list('0123456789abcdefghijklmnopqrstuvwxyz')
    pieces = ['##' + c for c in '0123456789abcdefghijklmnopqrstuvwxyz']
    # Whole words; "meningioma" and "metastasis" are left out on purpose so they split into ## pieces.
    words = ('this study shows no significant abnormalities acute stroke glioma likely identified consistent with '
             'the of and in is a an on at to for as be are was were not or by from brain mass lesion hemorrhage '
             'edema left right ct mri scan image normal findings evidence suggestive infarct tumor white matter '
             'signal intracranial intraparenchymal intraventricular subarachnoid subdural chronic small vessel '
             'disease atrophy cyst hydrocephalus midline shift fracture volume loss enhancing ring enhancement '
             'restricted diffusion men meta cafe').split()
    more = ['##ing', '##ioma', '##stas', '##is', '##s', '##ed', '##al', '##ic', '##ia', '##oma', '##itis', '##ous',
            '##ly', '##tion', '##ment', '##er', '##es', '##al', '##ity', '##ive', '##ary', '##ure']
    vocab, seen = [], set()
    for t in special + punct + chars + pieces + words + more:
        if t not in seen:
            seen.add(t)
            vocab.append(t)
    # Filler so the table looks like a vocab of a few hundred entries (deterministic pseudo-words).
    cons, vow = 'bcdfghklmnprstvz', 'aeiou'
    i = 0
    while len(vocab) < 320:
        w = cons[i % 16] + vow[(i // 16) % 5] + cons[(i * 7 + 3) % 16] + vow[(i * 3) % 5]
        w = w if i % 3 else '##' + w
        if w not in seen:
            seen.add(w)
            vocab.append(w)
        i += 1
    return vocab


def _is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith('P')


def tokenize(text, vocab):
    """BERT uncased basic tokenizer + greedy longest-match WordPiece; ASCII sample text only (no CJK, no ftfy)."""
    ids = {t: i for i, t in enumerate(vocab)}
    text = unicodedata.normalize('NFD', text.lower())
    text = ''.join(c for c in text if unicodedata.category(c) != 'Mn')
    words, cur = [], ''
    for ch in text:
        if ch.isspace():
            words.append(cur)
            cur = ''
        elif _is_punct(ch):
            words += [cur, ch]
            cur = ''
        else:
            cur += ch
    words.append(cur)
    out = [ids['[CLS]']]
    for w in filter(None, words):
        toks, start = [], 0
        while start < len(w):
            end, found = len(w), None
            while start < end:
                piece = w[start:end] if start == 0 else '##' + w[start:end]
                if piece in ids:
                    found = piece
                    break
                end -= 1
            if found is None:
                toks = ['[UNK]']
                break
            toks.append(found)
            start = end
        out += [ids[t] for t in toks]
    out.append(ids['[SEP]'])
    return out


SENTENCES = [
    'This study shows: glioma.',
    'This study shows: meningioma, likely metastasis.',
    'No significant abnormalities; acute stroke identified in the left Café!',
]


def text_inputs(vocab, rng):
    rows = [tokenize(s, vocab) for s in SENTENCES]
    # A full-length row (no padding at all), with a few [UNK]s, to cover the unmasked path and truncation length.
    full = [2] + [int(v) for v in rng.integers(5, len(vocab), CONTEXT - 2)] + [3]
    full[10] = full[77] = 1
    rows.append(full)
    ids = np.zeros((len(rows), CONTEXT), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r[:CONTEXT]
    return ids


# ----------------------------------------------------------------------------------------------------------------------
# configs and weights


def small_visual(name, v):
    pd, ph, pw = v['patch_size']
    large = v['embed_dim'] > 768
    rope = bool(v.get('rope'))
    return VisualCfg(
        name=name,
        depth=v['depth'],
        # Base: 4 heads of 12. Large: 6 heads of 8. RoPE: 3 heads of 16, so 3 x 4 dims rotate and 4 do not, as 60 of
        # 64 in the real model. Head widths differ from 64 on purpose: the head count must come from the config.
        embed_dim=48,
        num_heads=3 if rope else 6 if large else 4,
        img_size=(2 * pd, 4 * ph, 4 * pw),  # grid 2 x 4 x 4 = 32 tokens per scan
        patch_size=(pd, ph, pw),
        max_num_scans=v['max_num_scans'],
        pool=v['pool'],
        reg_tokens=v['reg_tokens'],
        schedule=schedule_of(v['depth'], v['slice_attn_indexes'], v['scan_attn_indexes'], v['study_attn_indexes']),
        proj_dim=48 if v['pool'] == 'dinotxt' else 32,
        rope=rope,
    )


def small_text(vocab_size, proj_dim):
    return TextCfg(vocab_size=vocab_size, hidden=32, layers=2, heads=4, intermediate=64, max_positions=512,
                   type_vocab=2, proj_dim=proj_dim, context_length=CONTEXT)


def init_weights(model, seed):
    """Seeded weights that make every part matter: fan-in scaled linears (so each block changes the residual stream
    by O(1) and a wrong window switch shows), q/k large enough that attention is far from uniform, LayerNorm
    weights around 1, non-zero biases, random position embeddings and prefix tokens."""
    g = torch.Generator().manual_seed(seed)
    rn = lambda *s: torch.randn(*s, generator=g)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == 'logit_scale':
                p.fill_(math.log(1 / 0.07))
            elif name == 'logit_bias':
                p.fill_(-10.0)
            elif 'norm' in name.lower() and p.dim() == 1:
                p.copy_(1 + 0.1 * rn(*p.shape) if name.endswith('weight') else 0.05 * rn(*p.shape))
            elif name.endswith('bias'):
                p.copy_(0.05 * rn(*p.shape))
            elif name.endswith(('cls_token', 'reg_token', 'posemb')) or 'embeddings.weight' in name:
                p.copy_(0.5 * rn(*p.shape))
            else:
                fan_in = p[0].numel()
                gain = 1.8 if name.endswith(('attn.qkv.weight', 'query.weight', 'key.weight')) else 1.0
                p.copy_(gain / math.sqrt(fan_in) * rn(*p.shape))


# ----------------------------------------------------------------------------------------------------------------------
# writing


def open_clip_config(vcfg: VisualCfg, tcfg: TextCfg):
    return {
        'model_cfg': {
            'embed_dim': vcfg.proj_dim,
            'vision_cfg': {
                'timm_model_name': vcfg.name,
                'timm_model_pretrained': False,
                'timm_pool': 'token',  # the DINO.txt pooling lives in the trunk; open_clip still says token
                'timm_proj': 'linear',
            },
            'text_cfg': {
                'hf_model_name': BIOMEDBERT,
                'hf_tokenizer_name': BIOMEDBERT,
                'hf_pooler_type': 'cls_last_hidden_state_pooler',
                'hf_proj_type': 'linear',
                'context_length': tcfg.context_length,
            },
        },
        # Small geometry: these fixtures are not the registered sizes, so the TS side must read them from here.
        'hlip_visual': {
            'depth': vcfg.depth, 'embed_dim': vcfg.embed_dim, 'num_heads': vcfg.num_heads,
            'img_size': list(vcfg.img_size), 'patch_size': list(vcfg.patch_size),
            'max_num_scans': vcfg.max_num_scans, 'pool': vcfg.pool, 'reg_tokens': vcfg.reg_tokens,
            'schedule': vcfg.schedule, 'proj_dim': vcfg.proj_dim, 'mlp_ratio': vcfg.mlp_ratio, 'rope': vcfg.rope,
        },
        'hlip_text': {
            'hidden': tcfg.hidden, 'layers': tcfg.layers, 'heads': tcfg.heads, 'intermediate': tcfg.intermediate,
            'vocab_size': tcfg.vocab_size, 'max_positions': tcfg.max_positions, 'type_vocab': tcfg.type_vocab,
            'layer_norm_eps': tcfg.layer_norm_eps, 'proj_dim': tcfg.proj_dim,
        },
    }


def training_checkpoint(sd, name):
    """open_clip training checkpoint: DDP 'module.' prefix on every key, plus epoch/name/optimizer."""
    return {
        'epoch': 1,
        'name': name,
        'state_dict': OrderedDict(('module.' + k, v) for k, v in sd.items()),
        'optimizer': {
            'state': {0: {'step': torch.tensor(1.0), 'exp_avg': torch.zeros(4), 'exp_avg_sq': torch.zeros(4)}},
            'param_groups': [{'lr': 1e-5, 'betas': (0.9, 0.98), 'eps': 1e-6, 'weight_decay': 0.2,
                              'amsgrad': False, 'maximize': False, 'foreach': None, 'params': [0]}],
        },
    }


def save_npy(path, a):
    np.save(path, np.ascontiguousarray(a))


def write_case(outdir, case, variant, vcfg, tcfg, vocab, seed, keys='full', scans=(1, 3), unsupported=None):
    d = os.path.join(outdir, case)
    os.makedirs(d, exist_ok=True)
    model = HLIPClip(vcfg, tcfg, logit_bias=vcfg.reg_tokens > 0)
    init_weights(model, seed)
    sd = OrderedDict((k, v.detach().clone().contiguous()) for k, v in model.state_dict().items())
    if keys == 'visual':
        sd = OrderedDict((k, v) for k, v in sd.items() if k.startswith('visual.'))
    elif keys == 'text':
        sd = OrderedDict((k, v) for k, v in sd.items() if k.startswith('text.'))
    save_file({k: v.numpy() for k, v in sd.items()}, os.path.join(d, 'model.safetensors'), {'format': 'pt'})
    torch.save(training_checkpoint(sd, f'hlip-fixture-{case}'), os.path.join(d, 'model.pt'))
    with open(os.path.join(d, 'open_clip_config.json'), 'w') as f:
        json.dump(open_clip_config(vcfg, tcfg), f, indent=1)

    ref = model.double().eval()  # float64 from the float32 weights: the exact answer for the stored numbers
    rng = np.random.default_rng(seed)
    L = int(np.prod(vcfg.grid))
    P = vcfg.num_prefix
    outputs = {}
    if keys != 'text':
        for n in scans:
            x = rng.standard_normal((1, n, 1, *vcfg.img_size)).astype(np.float32)
            save_npy(os.path.join(d, f'input_{n}.npy'), x)
            if unsupported:
                continue  # inputs only: nothing to compare against
            with torch.no_grad():
                out = ref.visual(torch.from_numpy(x).double())
            names = []
            for k in ('embedding_raw', 'embedding', 'cls_attn', 'patch_proj'):
                if k in out:
                    save_npy(os.path.join(d, f'expected_{n}_{k}.npy'), out[k].float().numpy())
                    names.append(k)
            outputs[str(n)] = names
    if keys != 'visual':
        with open(os.path.join(d, 'vocab.txt'), 'w') as f:
            f.write('\n'.join(vocab) + '\n')
        ids = text_inputs(vocab, rng)
        mask = (ids != 0).astype(np.int64)
        save_npy(os.path.join(d, 'text_input_ids.npy'), ids)
        save_npy(os.path.join(d, 'text_attention_mask.npy'), mask)
        with torch.no_grad():
            tout = ref.text(torch.from_numpy(ids), torch.from_numpy(mask))
        save_npy(os.path.join(d, 'expected_text_embedding_raw.npy'), tout['text_embedding_raw'].float().numpy())
        save_npy(os.path.join(d, 'expected_text_embedding.npy'), tout['text_embedding'].float().numpy())
        with open(os.path.join(d, 'text_inputs.json'), 'w') as f:
            json.dump({'texts': SENTENCES + [None], 'note': 'rows 0-2: the texts through BERT-uncased WordPiece with '
                       'vocab.txt; row 3: hand-picked ids, full length, no padding, [UNK] at 10 and 77'}, f, indent=1)

    info = {
        'case': case,
        'variant': variant,
        'unsupported': unsupported,
        'checkpoint_keys': keys,
        'seed': seed,
        'visual': vcfg.to_json() if keys != 'text' else None,
        'text': tcfg.__dict__ if keys != 'visual' else None,
        'P': P, 'L': L, 'grid': list(vcfg.grid), 'heads': vcfg.num_heads,
        'num_scans': list(scans) if keys != 'text' else [],
        'outputs': outputs,
        'logit_scale': math.log(1 / 0.07) if keys == 'full' else None,
        'logit_bias': -10.0 if keys == 'full' and vcfg.reg_tokens > 0 else None,
        'state_dict_keys': len(sd),
    }
    with open(os.path.join(d, 'case.json'), 'w') as f:
        json.dump(info, f, indent=1)
    return info


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: make_fixtures.py OUTDIR')
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    with open(os.path.join(ROOT, 'models', 'hlip-variants.json')) as f:
        variants = json.load(f)['variants']
    vocab = make_vocab()
    index = []
    for name, v in variants.items():
        vcfg = small_visual(name, v)
        tcfg = small_text(len(vocab), vcfg.proj_dim)
        seed = zlib.crc32(name.encode()) & 0x7fffffff
        # singlescan: max_num_scans 1 and a scan-level last block, so only one scan has a study-wide CLS row.
        scans = (1,) if v['max_num_scans'] == 1 else (1, 3, 8) if name == EIGHT_SCAN_VARIANT else (1, 3)
        index.append(write_case(outdir, name, name, vcfg, tcfg, vocab, seed, scans=scans))
    v = variants[HF_VARIANT]
    vcfg = small_visual(HF_VARIANT, v)
    tcfg = small_text(len(vocab), vcfg.proj_dim)
    index.append(write_case(outdir, 'visual-only', HF_VARIANT, vcfg, tcfg, vocab, 101, keys='visual'))
    index.append(write_case(outdir, 'text-only', HF_VARIANT, vcfg, tcfg, vocab, 202, keys='text'))
    with open(os.path.join(outdir, 'index.json'), 'w') as f:
        json.dump({'cases': [{'case': c['case'], 'variant': c['variant'], 'unsupported': c['unsupported'],
                              'checkpoint_keys': c['checkpoint_keys'], 'num_scans': c['num_scans']} for c in index]},
                  f, indent=1)
    print(f'{len(index)} cases -> {outdir}')


if __name__ == '__main__':
    main()
