"""Self-check of the HLIP reference: a second, loop-based computation must agree with model.py, and the fixtures on
disk must agree with both.

usage: /usr/bin/python3 tools/hlip_ref/selfcheck.py [FIXTURES]   (default .cache/hlip-ref; generated there if missing)

The alternative keeps the patch tokens in one study-ordered table and the prefix tokens per window, runs every
window of a block separately with torch's own multi-head attention (F.multi_head_attention_forward), and moves
prefix tokens between levels with explicit loops (mean of the child windows going up, copy going down). So it shares
no window-switching or attention code with model.py. The text tower is recomputed the same way with a boolean
key-padding mask instead of HF's additive finfo.min mask.
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ in the work tree (.gitignore does not cover it)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import HLIPClip, TextCfg, VisualCfg  # noqa: E402
from safetensors_io import load_file  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
CASES = ['vit_base_multiscan_h3_token1176',                    # slice -> scan -> study, token pooling, seq posemb
         'ablate_seqposemb_vit_base_multiscan_h2_dualdinotxt1568',  # register token, DINO.txt, no seq posemb
         'vit_base_multiscan_h2_dinotxt1568',                  # 8 scans
         'vit_base_singlescan_h2_token2744',                   # slice + scan, last block scan-level
         'ablate_rope_vit_base_multiscan_h2_dinotxt1568']      # 3D RoPE in every block
failures = []


def check(what, got, want, tol):
    got, want = [t.detach() if torch.is_tensor(t) else t for t in (got, want)]
    err = float(np.max(np.abs(np.asarray(got, dtype=np.float64) - np.asarray(want, dtype=np.float64))))
    ok = err <= tol
    print(f"  {'ok  ' if ok else 'FAIL'} {what}: max |diff| {err:.2e} (tol {tol:.0e})")
    if not ok:
        failures.append(what)
    return err


def load_case(d):
    info = json.load(open(os.path.join(d, 'case.json')))
    vj = dict(info['visual'])
    for k in ('grid', 'num_prefix_tokens'):
        vj.pop(k)
    vcfg = VisualCfg(**{**vj, 'img_size': tuple(vj['img_size']), 'patch_size': tuple(vj['patch_size'])})
    tcfg = TextCfg(**info['text'])
    sd = {k: torch.from_numpy(v) for k, v in load_file(os.path.join(d, 'model.safetensors')).items()}
    model = HLIPClip(vcfg, tcfg, logit_bias='logit_bias' in sd)
    model.load_state_dict(sd, strict=True)
    return info, vcfg, model, sd


# ---------------------------------------------------------------------------------------------------------------------
# alternative visual forward


def alt_rope(y, heads, pos):
    """3D RoPE on y [T, C] (prefix rows have pos None) as complex multiplication, token by token and axis by axis:
    pair (y[2i], y[2i+1]) of axis a's block is the complex number y[2i] + i*y[2i+1], times exp(i * p_a * omega_i)."""
    t, c = y.shape
    hd = c // heads
    a = 2 * ((hd // 3) // 2)
    out = y.clone()
    for r in range(t):
        if pos[r] is None:
            continue
        for hh in range(heads):
            for ax in range(3):
                for i in range(a // 2):
                    j = hh * hd + ax * a + 2 * i
                    z = complex(float(y[r, j]), float(y[r, j + 1])) * np.exp(1j * pos[r][ax] * 10000.0 ** (-i / (a / 2)))
                    out[r, j], out[r, j + 1] = z.real, z.imag
    return out


def alt_block(sd, i, x, heads, pos=None):
    """One pre-norm block on x [T, C] with torch's MHA; returns (x, attention weights [heads, T, T]).
    pos: per token None (prefix) or its (d, h, w) grid position, for the RoPE variant."""
    g = lambda n: sd[f'visual.trunk.blocks.{i}.{n}']
    c = x.shape[-1]
    h = F.layer_norm(x, (c,), g('norm1.weight'), g('norm1.bias'), 1e-6)  # [T, C]
    if pos is None:
        h = h[:, None]                                                      # [T, 1, C]
        a, w = F.multi_head_attention_forward(
            h, h, h, c, heads, g('attn.qkv.weight'), g('attn.qkv.bias'), None, None, False, 0.0,
            g('attn.proj.weight'), g('attn.proj.bias'), training=False, need_weights=True, average_attn_weights=False)
    else:
        # RoPE sits between the projection and the scores: project here, rotate q and k, then torch's MHA with
        # identity input projections.
        q, k, v = F.linear(h, g('attn.qkv.weight'), g('attn.qkv.bias')).split(c, dim=-1)
        q, k = alt_rope(q, heads, pos), alt_rope(k, heads, pos)
        eye = torch.eye(c, dtype=h.dtype)
        a, w = F.multi_head_attention_forward(
            q[:, None], k[:, None], v[:, None], c, heads, None, torch.zeros(3 * c, dtype=h.dtype), None, None, False,
            0.0, g('attn.proj.weight'), g('attn.proj.bias'), training=False, need_weights=True,
            average_attn_weights=False, use_separate_proj_weight=True, q_proj_weight=eye, k_proj_weight=eye,
            v_proj_weight=eye)
    x = x + a[:, 0]
    h = F.layer_norm(x, (c,), g('norm2.weight'), g('norm2.bias'), 1e-6)
    x = x + F.linear(F.gelu(F.linear(h, g('mlp.fc1.weight'), g('mlp.fc1.bias'))), g('mlp.fc2.weight'), g('mlp.fc2.bias'))
    return x, w[0]


def alt_visual(sd, cfg: VisualCfg, image):
    n = image.shape[1]
    d, hh, ww = cfg.grid
    L, P = d * hh * ww, cfg.num_prefix
    c = cfg.embed_dim
    conv = F.conv3d(image[0], sd['visual.trunk.patch_embed.proj.weight'], sd['visual.trunk.patch_embed.proj.bias'],
                    stride=cfg.patch_size)                                   # [N, C, d, h, w]
    patches = []
    for s in range(n):                                                      # study order: scan, z, y, x
        for z in range(d):
            for y in range(hh):
                for x in range(ww):
                    t = conv[s, :, z, y, x] + sd['visual.trunk.spatial_posemb'][0, z, y, x]
                    if 'visual.trunk.sequential_posemb' in sd:
                        t = t + sd['visual.trunk.sequential_posemb'][0, s]
                    patches.append(t)
    patches = torch.stack(patches)                                           # [N*L, C]
    prefix0 = sd['visual.trunk.cls_token'][0]
    if 'visual.trunk.reg_token' in sd:
        prefix0 = torch.cat([prefix0, sd['visual.trunk.reg_token'][0]])     # [P, C]
    size = {'slice': hh * ww, 'scan': L, 'study': n * L}                    # tokens per window

    def windows(level):
        return (n * L) // size[level]

    level = cfg.schedule[0]
    prefix = [prefix0.clone() for _ in range(windows(level))]
    cls_row = None
    for i, nxt in enumerate(cfg.schedule):
        if nxt != level:
            k_old, k_new = windows(level), windows(nxt)
            if k_new < k_old:   # going up: each new window averages the prefix tokens of the windows it merges
                r = k_old // k_new
                prefix = [sum(prefix[j * r + m] for m in range(r)) / r for j in range(k_new)]
            else:               # going down: each new window copies its parent's prefix tokens
                r = k_new // k_old
                prefix = [prefix[j // r].clone() for j in range(k_new)]
            level = nxt
        out = patches.clone()
        for wi in range(windows(level)):
            lo, hi = wi * size[level], (wi + 1) * size[level]
            # RoPE: a patch token's (z, y, x) inside its own scan, whatever the window level.
            pos = [None] * P + [((j % L) // (hh * ww), (j % (hh * ww)) // ww, j % ww) for j in range(lo, hi)] \
                if cfg.rope else None
            y, attn = alt_block(sd, i, torch.cat([prefix[wi], patches[lo:hi]]), cfg.num_heads, pos)
            prefix[wi], out[lo:hi] = y[:P], y[P:]
            if i == cfg.depth - 1 and windows(level) == 1:
                cls_row = attn[:, 0]                                          # [heads, P + N*L]
        patches = out
    # after the last block: merge to the study
    prefix = sum(prefix) / len(prefix)
    x = F.layer_norm(torch.cat([prefix, patches]), (c,), sd['visual.trunk.norm.weight'], sd['visual.trunk.norm.bias'],
                     1e-6)
    w = sd['visual.head.proj.weight']
    res = {}
    if cfg.pool == 'dinotxt':
        mean = x[P:].mean(0)
        raw = torch.stack([w @ torch.cat([x[p], mean]) for p in range(P)])
        res['patch_proj'] = torch.stack([w[:, c:] @ x[P + j] for j in range(n * L)])[None]
    else:
        raw = (w @ x[0])[None]
    res['embedding_raw'] = raw[None]
    res['embedding'] = (raw / raw.norm(dim=-1, keepdim=True))[None]
    if cls_row is not None:
        res['cls_attn'] = cls_row[None]
    return res


# ---------------------------------------------------------------------------------------------------------------------
# alternative text forward


def alt_text(sd, cfg: TextCfg, ids):
    g = lambda n: sd['text.transformer.' + n]
    hdim = cfg.hidden
    out = []
    for row in ids:
        t = row.shape[0]
        x = g('embeddings.word_embeddings.weight')[row] + g('embeddings.position_embeddings.weight')[:t] \
            + g('embeddings.token_type_embeddings.weight')[0]
        x = F.layer_norm(x, (hdim,), g('embeddings.LayerNorm.weight'), g('embeddings.LayerNorm.bias'), 1e-12)
        pad = (row == 0)[None]                                               # [1, T] True = ignore
        for i in range(cfg.layers):
            p = lambda n: g(f'encoder.layer.{i}.{n}')
            wqkv = torch.cat([p('attention.self.query.weight'), p('attention.self.key.weight'),
                              p('attention.self.value.weight')])
            bqkv = torch.cat([p('attention.self.query.bias'), p('attention.self.key.bias'),
                              p('attention.self.value.bias')])
            h = x[:, None]
            a, _ = F.multi_head_attention_forward(
                h, h, h, hdim, cfg.heads, wqkv, bqkv, None, None, False, 0.0,
                p('attention.output.dense.weight'), p('attention.output.dense.bias'), training=False,
                key_padding_mask=pad, need_weights=False)
            x = F.layer_norm(a[:, 0] + x, (hdim,), p('attention.output.LayerNorm.weight'),
                             p('attention.output.LayerNorm.bias'), 1e-12)
            m = F.linear(F.gelu(F.linear(x, p('intermediate.dense.weight'), p('intermediate.dense.bias'))),
                         p('output.dense.weight'), p('output.dense.bias'))
            x = F.layer_norm(m + x, (hdim,), p('output.LayerNorm.weight'), p('output.LayerNorm.bias'), 1e-12)
        out.append(sd['text.proj.weight'] @ x[0])
    raw = torch.stack(out)
    return raw, raw / raw.norm(dim=-1, keepdim=True)


# ---------------------------------------------------------------------------------------------------------------------


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, '.cache', 'hlip-ref')
    if not os.path.exists(os.path.join(root, 'index.json')):
        subprocess.check_call([sys.executable, os.path.join(os.path.dirname(__file__), 'make_fixtures.py'), root])
    torch.manual_seed(0)

    print('torch attention == explicit attention')
    x = torch.randn(2, 37, 48, dtype=torch.float64)
    from model import Attention
    att = Attention(48, 4).double()
    mine, row = att(x, want_cls_attn=True)
    theirs, w = F.multi_head_attention_forward(
        x.transpose(0, 1), x.transpose(0, 1), x.transpose(0, 1), 48, 4, att.qkv.weight, att.qkv.bias, None, None,
        False, 0.0, att.proj.weight, att.proj.bias, training=False, need_weights=True, average_attn_weights=False)
    check('attention output', mine, theirs.transpose(0, 1), 1e-12)
    check('CLS attention row', row, w[:, :, 0], 1e-12)

    for case in CASES:
        d = os.path.join(root, case)
        info, vcfg, model, sd32 = load_case(d)
        print(f'{case}  (schedule {"".join(s[1] for s in vcfg.schedule)}; P={vcfg.num_prefix} pool={vcfg.pool})')
        sd = {k: v.double() for k, v in sd32.items()}
        ref = model.double().eval()
        # the training checkpoint holds the same tensors under module.*
        pt = torch.load(os.path.join(d, 'model.pt'), map_location='cpu')
        same = all(torch.equal(pt['state_dict']['module.' + k], v) for k, v in sd32.items()) \
            and len(pt['state_dict']) == len(sd32)
        print(f"  {'ok  ' if same else 'FAIL'} model.pt state_dict == model.safetensors ({len(sd32)} keys)")
        if not same:
            failures.append(case + ' model.pt')
        for n in info['num_scans']:
            img = torch.from_numpy(np.load(os.path.join(d, f'input_{n}.npy'))).double()
            with torch.no_grad():
                a = ref.visual(img)
                b = alt_visual(sd, vcfg, img)
            assert set(a) == set(b), (sorted(a), sorted(b))
            for k in sorted(a):
                check(f'N={n} {k}: model.py vs loop version', a[k], b[k], 1e-9)
                check(f'N={n} {k}: fixture vs loop version', np.load(os.path.join(d, f'expected_{n}_{k}.npy')),
                      b[k], 1e-5)
            # what a float32 implementation gets (a guide for the TS parity tolerances)
            with torch.no_grad():
                f32 = HLIPClip(vcfg, TextCfg(**info['text']), 'logit_bias' in sd32)
                f32.load_state_dict(sd32)
                o32 = f32.visual(img.float())
            errs = {k: float((o32[k].double() - a[k]).abs().max()) for k in a}
            print('       float32 run vs float64: ' + ', '.join(f'{k} {v:.1e}' for k, v in errs.items()))
            if n > 1 and vcfg.rope:
                # Sensitivity: the fixtures must notice RoPE left out, and study-wide positions (scan s's tokens at
                # s*L + l, which HLIP does not do) instead of per-scan ones.
                trunk = ref.visual.trunk
                with torch.no_grad():
                    trunk.cfg.rope = False
                    plain = ref.visual(img)['embedding']
                    trunk.cfg.rope = True
                    orig = trunk._rope_positions
                    gd, gh, gw = vcfg.grid
                    trunk._rope_positions = lambda windows, n_: torch.stack(
                        [(lambda i: [i // (gh * gw), (i // gw) % gh, i % gw])(torch.arange(n_ * gd * gh * gw))[k]
                         .reshape(windows, -1) for k in range(3)], dim=-1)
                    wide = ref.visual(img)['embedding']
                    trunk._rope_positions = orig
                print(f'       sensitivity: no RoPE moves the embedding by {float((plain - a["embedding"]).abs().max()):.2e}, '
                      f'study-wide positions by {float((wide - a["embedding"]).abs().max()):.2e}')
            if n > 1 and vcfg.pool == 'token' and len(set(vcfg.schedule)) > 1:
                # Sensitivity: the fixtures must notice a wrong CLS hand-over (first window's CLS instead of mean).
                trunk = ref.visual.trunk
                orig = trunk._merge
                trunk._merge = lambda x, k: torch.cat([x[::k, :trunk.num_prefix_tokens],
                                                       x[:, trunk.num_prefix_tokens:].reshape(x.shape[0] // k, -1, x.shape[-1])], 1)
                with torch.no_grad():
                    wrong = ref.visual(img)['embedding']
                trunk._merge = orig
                print(f'       sensitivity: CLS of first window instead of mean moves the embedding by '
                      f'{float((wrong - a["embedding"]).abs().max()):.2e}')
        ids = torch.from_numpy(np.load(os.path.join(d, 'text_input_ids.npy')))
        mask = torch.from_numpy(np.load(os.path.join(d, 'text_attention_mask.npy')))
        with torch.no_grad():
            t = ref.text(ids, mask)
            raw, emb = alt_text(sd, ref.text.cfg, ids)
        check('text_embedding_raw: model.py vs loop version', t['text_embedding_raw'], raw, 1e-9)
        check('text_embedding: fixture vs loop version', np.load(os.path.join(d, 'expected_text_embedding.npy')),
              emb, 1e-5)
    print('FAILED: ' + ', '.join(failures) if failures else 'all checks passed')
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
