"""Independent PyTorch reference of the HLIP visual tower (hlip-ablation branch) and its BERT text tower.

Re-implemented from HLIP's module structure, not copied: parameter names match the open_clip CustomTextCLIP
state dict (`visual.trunk.*`, `visual.head.proj`, `text.transformer.*`, `text.proj`, `logit_scale`[, `logit_bias`])
so a checkpoint written from `HLIPClip.state_dict()` loads exactly like a real HLIP one.
No timm / open_clip / transformers: torch 1.13 (Debian's python3-torch) only.
"""
import math
from dataclasses import dataclass, field, asdict
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

LEVELS = ('slice', 'scan', 'study')


@dataclass
class VisualCfg:
    name: str
    depth: int
    embed_dim: int
    num_heads: int
    img_size: Tuple[int, int, int]
    patch_size: Tuple[int, int, int]
    max_num_scans: int          # 40 -> sequential_posemb [1,40,C]; 0 or 1 -> none
    pool: str                   # 'token' | 'dinotxt'
    reg_tokens: int
    schedule: List[str]         # one level per block
    proj_dim: int
    mlp_ratio: float = 4.0
    rope: bool = False          # 3D RoPE in every block (ablate_rope_*: HLIPVisualEncoderRope); no extra weights

    @property
    def grid(self) -> Tuple[int, int, int]:
        return tuple(self.img_size[i] // self.patch_size[i] for i in range(3))

    @property
    def num_prefix(self) -> int:
        return 1 + self.reg_tokens

    def to_json(self) -> dict:
        d = asdict(self)
        d['grid'] = list(self.grid)
        d['num_prefix_tokens'] = self.num_prefix
        return d


@dataclass
class TextCfg:
    vocab_size: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    max_positions: int
    type_vocab: int
    proj_dim: int
    context_length: int = 256
    layer_norm_eps: float = 1e-12


def schedule_of(depth: int, slice_idx: Sequence[int], scan_idx: Sequence[int], study_idx: Sequence[int]) -> List[str]:
    out = []
    for i in range(depth):
        if i in slice_idx:
            out.append('slice')
        elif i in study_idx:
            out.append('study')
        elif i in scan_idx:
            out.append('scan')
        else:
            raise ValueError(f'block {i} is in no attention list')
    return out


# ----------------------------------------------------------------------------------------------------------------------
# Visual tower


class PatchEmbed3D(nn.Module):
    """Conv3d with kernel = stride = patch; [B, N, 1, D, H, W] -> [B, N, d, h, w, C] (channels last)."""

    def __init__(self, patch_size, embed_dim):
        super().__init__()
        self.proj = nn.Conv3d(1, embed_dim, kernel_size=patch_size, stride=patch_size, bias=True)

    def forward(self, x):
        b, n, c, d, h, w = x.shape
        y = self.proj(x.reshape(b * n, c, d, h, w))
        return y.permute(0, 2, 3, 4, 1).reshape(b, n, *y.shape[2:], -1)


def rope_axis_dim(head_dim: int) -> int:
    """Dims of a head rotated per axis (d, h, w): the largest even number <= head_dim // 3 (64 -> 20, 60 in all)."""
    return 2 * ((head_dim // 3) // 2)


def rope_rotate(x, pos):
    """Rotate consecutive pairs (x[2i], x[2i+1]) of x [b, heads, t, D] by pos * 10000^(-i / (D/2)); pos [b, t].

    V-JEPA 2's rotate_queries_or_keys in its fixed form (each pair shares one frequency: repeat_interleave), which
    is the one HLIP's rope.py uses."""
    half = x.shape[-1] // 2
    omega = 1.0 / 10000 ** (torch.arange(half, dtype=x.dtype) / half)           # [D/2]
    ang = pos.to(x.dtype)[:, None, :, None] * omega                              # [b, 1, t, D/2]
    cos, sin = ang.cos().repeat_interleave(2, -1), ang.sin().repeat_interleave(2, -1)
    pairs = x.reshape(*x.shape[:-1], half, 2)
    partner = torch.stack([-pairs[..., 1], pairs[..., 0]], dim=-1).reshape(x.shape)  # (x0, x1) -> (-x1, x0)
    return x * cos + partner * sin


def apply_rope_3d(x, num_prefix, pos_dhw):
    """HLIPAttentionRope on q or k [b, heads, t, hd]: prefix tokens untouched; each patch token's first 3 * a dims
    rotated by its (d, h, w) grid position, a dims per axis (rope_axis_dim); the rest of the head untouched."""
    a = rope_axis_dim(x.shape[-1])
    pre, pat = x[:, :, :num_prefix], x[:, :, num_prefix:]
    parts = [rope_rotate(pat[..., i * a:(i + 1) * a], pos_dhw[..., i]) for i in range(3)]
    parts.append(pat[..., 3 * a:])
    return torch.cat([pre, torch.cat(parts, dim=-1)], dim=2)


class Attention(nn.Module):
    """timm Attention (qkv with bias, no q/k norm). Written out explicitly so the CLS row can be returned."""

    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, want_cls_attn=False, rope=None):
        """rope: None, or (num_prefix, pos_dhw [b, t - num_prefix, 3]) for HLIP's RoPE attention."""
        b, t, c = x.shape
        qkv = self.qkv(x).reshape(b, t, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                     # [b, heads, t, hd]
        if rope is not None:
            q, k = apply_rope_3d(q, *rope), apply_rope_3d(k, *rope)
        attn = torch.softmax((q * self.scale) @ k.transpose(-2, -1), dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, t, c)
        cls_attn = attn[:, :, 0, :] if want_cls_attn else None  # [b, heads, t]: the CLS query's row
        return self.proj(out), cls_attn


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact (erf) GELU, as timm's nn.GELU default


class Block(nn.Module):
    """Pre-norm timm Block, no layer scale, no drop path (inference)."""

    def __init__(self, dim, num_heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x, want_cls_attn=False, rope=None):
        a, cls_attn = self.attn(self.norm1(x), want_cls_attn, rope)
        x = x + a
        x = x + self.mlp(self.norm2(x))
        return x, cls_attn


class HLIPTrunk(nn.Module):
    """HLIPVisualEncoder: patch embed + spatial/sequential posemb + prefix tokens + blocks with hierarchical windows."""

    def __init__(self, cfg: VisualCfg):
        super().__init__()
        self.cfg = cfg
        c = cfg.embed_dim
        self.num_prefix_tokens = cfg.num_prefix
        self.patch_embed = PatchEmbed3D(cfg.patch_size, c)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c))
        self.reg_token = nn.Parameter(torch.zeros(1, cfg.reg_tokens, c)) if cfg.reg_tokens else None
        self.spatial_posemb = nn.Parameter(torch.zeros(1, *cfg.grid, c))
        # HLIP creates the sequence embedding only when max_num_scans > 1 (the ablate_* models use 0, singlescan 1).
        self.sequential_posemb = nn.Parameter(torch.zeros(1, cfg.max_num_scans, c)) if cfg.max_num_scans > 1 else None
        self.blocks = nn.ModuleList([Block(c, cfg.num_heads, cfg.mlp_ratio) for _ in range(cfg.depth)])
        self.norm = nn.LayerNorm(c, eps=1e-6)

    # --- window switching. A window's patch tokens are contiguous in study order (scan, z, y, x), so going between
    # levels is a reshape of the patch tokens; the prefix tokens are averaged over the merged windows (going up) or
    # copied to every window (going down), as HLIP's _slice2scan/_scan2study/_study2scan/... do.

    def _merge(self, x, k):
        """[W*k, P+L, C] -> [W, P+k*L, C]: k consecutive windows become one; their prefix tokens are averaged."""
        p = self.num_prefix_tokens
        prefix, src = x[:, :p], x[:, p:]
        wk, l, c = src.shape
        prefix = prefix.reshape(wk // k, k, p, c).mean(dim=1)
        src = src.reshape(wk // k, k * l, c)
        return torch.cat([prefix, src], dim=1)

    def _split(self, x, k):
        """[W, P+k*L, C] -> [W*k, P+L, C]: each window splits into k; every part gets a copy of the prefix tokens."""
        p = self.num_prefix_tokens
        prefix, src = x[:, :p], x[:, p:]
        w, kl, c = src.shape
        prefix = prefix.unsqueeze(1).expand(w, k, p, c)
        src = src.reshape(w, k, kl // k, c)
        return torch.cat([prefix, src], dim=2).reshape(w * k, p + kl // k, c)

    def _slice2scan(self, x, num_slices):
        return self._merge(x, num_slices)

    def _slice2study(self, x, num_scans, num_slices):
        return self._merge(x, num_scans * num_slices)

    def _scan2study(self, x, num_scans):
        return self._merge(x, num_scans)

    def _study2slice(self, x, num_scans, num_slices):
        return self._split(x, num_scans * num_slices)

    def _study2scan(self, x, num_scans):
        return self._split(x, num_scans)

    def _scan2slice(self, x, num_slices):
        return self._split(x, num_slices)

    def _switch(self, x, src, dst, n, d):
        if src == dst:
            return x
        return {
            ('slice', 'scan'): lambda: self._slice2scan(x, d),
            ('slice', 'study'): lambda: self._slice2study(x, n, d),
            ('scan', 'study'): lambda: self._scan2study(x, n),
            ('study', 'slice'): lambda: self._study2slice(x, n, d),
            ('study', 'scan'): lambda: self._study2scan(x, n),
            ('scan', 'slice'): lambda: self._scan2slice(x, d),
        }[(src, dst)]()

    def _pos_embed(self, x):
        """x [1, N, d, h, w, C] -> windows of block 0's level, prefix tokens prepended to each window."""
        b, n, d, h, w, c = x.shape
        assert b == 1, 'the reference runs one study at a time (HLIP uses positions 0..N-1 only at batch size 1)'
        pos = self.spatial_posemb[:, None]  # [1, 1, d, h, w, C]; native grid only, so no trilinear resampling
        if self.sequential_posemb is not None:
            assert n <= self.sequential_posemb.shape[1], 'more scans than the sequence embedding (HLIP interpolates)'
            pos = pos + self.sequential_posemb[:, :n, None, None, None, :]
        x = x + pos
        level = self.cfg.schedule[0]
        windows = {'slice': n * d, 'scan': n, 'study': 1}[level]
        x = x.reshape(windows, -1, c)
        prefix = [self.cls_token] + ([self.reg_token] if self.reg_token is not None else [])
        prefix = torch.cat(prefix, dim=1).expand(windows, -1, -1)
        return torch.cat([prefix, x], dim=1), n, d

    def _rope_positions(self, windows, n):
        """(d, h, w) grid positions [windows, tokens, 3] of the patch tokens of each window, as HLIP's keep_indices:
        arange(L) per scan, reshaped along with the tokens at every window switch. So every window level uses each
        token's position inside its own scan; a study window repeats the same positions for every scan."""
        gd, gh, gw = self.cfg.grid
        idx = (torch.arange(n * gd * gh * gw) % (gd * gh * gw)).reshape(windows, -1)
        return torch.stack([idx // (gh * gw), (idx // gw) % gh, idx % gw], dim=-1)

    def forward_features(self, image):
        x = self.patch_embed(image)
        x, n, d = self._pos_embed(x)
        sched = self.cfg.schedule
        cls_attn = None
        for i, blk in enumerate(self.blocks):
            if i > 0:
                x = self._switch(x, sched[i - 1], sched[i], n, d)
            last = i == len(self.blocks) - 1
            rope = (self.num_prefix_tokens, self._rope_positions(x.shape[0], n)) if self.cfg.rope else None
            x, a = blk(x, want_cls_attn=last, rope=rope)
            if last:
                cls_attn = a
        x = self._switch(x, sched[-1], 'study', n, d)  # merge a scan/slice-level result to the study
        if sched[-1] != 'study':
            # Only valid when the window is the study (singlescan with N=1): then the row covers every token.
            cls_attn = cls_attn if cls_attn.shape[0] == 1 else None
        return self.norm(x), cls_attn


class Head(nn.Module):
    def __init__(self, in_dim, out_dim):
        super().__init__()
        self.proj = nn.Linear(in_dim, out_dim, bias=False)


class HLIPVisual(nn.Module):
    """open_clip TimmModel around the HLIP trunk: pooling (token / DINO.txt) + head.proj."""

    def __init__(self, cfg: VisualCfg):
        super().__init__()
        self.cfg = cfg
        self.trunk = HLIPTrunk(cfg)
        c = cfg.embed_dim
        self.head = Head(2 * c if cfg.pool == 'dinotxt' else c, cfg.proj_dim)

    def forward(self, image) -> Dict[str, torch.Tensor]:
        x, cls_attn = self.trunk.forward_features(image)   # [1, P + N*L, C], final-normed
        p = self.cfg.num_prefix
        out = {}
        if self.cfg.pool == 'dinotxt':
            prefix = x[:, :p]
            vis = x[:, p:].mean(dim=1, keepdim=True).expand(-1, p, -1)
            pooled = torch.cat([prefix, vis], dim=-1)       # fc_norm is Identity
            w = self.head.proj.weight                        # [E, 2C]
            # No bias, so logit = (W_cls.cls + mean_i W_patch.p_i).t: the per-patch terms are the class maps.
            out['patch_proj'] = x[:, p:] @ w[:, self.cfg.embed_dim:].t()
        else:
            pooled = x[:, :1]                                # timm 'token' pooling: CLS only, [b, 1, C]
        raw = self.head.proj(pooled)
        out['embedding_raw'] = raw
        out['embedding'] = F.normalize(raw, dim=-1)
        if cls_attn is not None:
            out['cls_attn'] = cls_attn
        return out


# ----------------------------------------------------------------------------------------------------------------------
# Text tower: HF BertModel layout (post-norm), CLS of the last hidden state, Linear(hidden -> E, no bias).


class BertEmbeddings(nn.Module):
    def __init__(self, cfg: TextCfg):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden, padding_idx=0)
        self.position_embeddings = nn.Embedding(cfg.max_positions, cfg.hidden)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab, cfg.hidden)
        self.LayerNorm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.word_embeddings(ids) + self.position_embeddings(pos)[None] + self.token_type_embeddings.weight[0]
        return self.LayerNorm(x)


class BertSelfAttention(nn.Module):
    def __init__(self, cfg: TextCfg):
        super().__init__()
        self.heads = cfg.heads
        self.query = nn.Linear(cfg.hidden, cfg.hidden)
        self.key = nn.Linear(cfg.hidden, cfg.hidden)
        self.value = nn.Linear(cfg.hidden, cfg.hidden)

    def forward(self, x, additive_mask):
        b, t, c = x.shape
        hd = c // self.heads
        split = lambda y: y.reshape(b, t, self.heads, hd).transpose(1, 2)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-2, -1) / math.sqrt(hd) + additive_mask
        return (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, c)


class BertDenseAddNorm(nn.Module):
    """HF's BertSelfOutput and BertOutput (same keys: dense, LayerNorm): post-norm residual after a Linear."""

    def __init__(self, cfg: TextCfg, d_in: int):
        super().__init__()
        self.dense = nn.Linear(d_in, cfg.hidden)
        self.LayerNorm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)

    def forward(self, h, residual):
        return self.LayerNorm(self.dense(h) + residual)


class BertAttention(nn.Module):
    def __init__(self, cfg: TextCfg):
        super().__init__()
        self.self = BertSelfAttention(cfg)
        self.output = BertDenseAddNorm(cfg, cfg.hidden)

    def forward(self, x, mask):
        return self.output(self.self(x, mask), x)


class BertIntermediate(nn.Module):
    def __init__(self, cfg: TextCfg):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden, cfg.intermediate)

    def forward(self, x):
        return F.gelu(self.dense(x))


class BertLayer(nn.Module):
    def __init__(self, cfg: TextCfg):
        super().__init__()
        self.attention = BertAttention(cfg)
        self.intermediate = BertIntermediate(cfg)
        self.output = BertDenseAddNorm(cfg, cfg.intermediate)

    def forward(self, x, mask):
        a = self.attention(x, mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, cfg: TextCfg):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(cfg) for _ in range(cfg.layers)])


class BertPooler(nn.Module):
    """Present in the checkpoint, unused by open_clip's cls_last_hidden_state_pooler."""

    def __init__(self, cfg: TextCfg):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden, cfg.hidden)


class BertModel(nn.Module):
    def __init__(self, cfg: TextCfg):
        super().__init__()
        self.embeddings = BertEmbeddings(cfg)
        self.encoder = BertEncoder(cfg)
        self.pooler = BertPooler(cfg)

    def forward(self, ids, attention_mask):
        x = self.embeddings(ids)
        # HF's extended mask: 0 where attended, the dtype's most negative value at padding.
        m = attention_mask[:, None, None, :].to(x.dtype)
        additive = (1.0 - m) * torch.finfo(x.dtype).min
        for layer in self.encoder.layer:
            x = layer(x, additive)
        return x


class HLIPText(nn.Module):
    def __init__(self, cfg: TextCfg):
        super().__init__()
        self.cfg = cfg
        self.transformer = BertModel(cfg)
        self.proj = nn.Linear(cfg.hidden, cfg.proj_dim, bias=False)

    def forward(self, ids, attention_mask=None) -> Dict[str, torch.Tensor]:
        if attention_mask is None:
            attention_mask = (ids != 0).long()  # open_clip: ids != pad id
        h = self.transformer(ids, attention_mask)
        raw = self.proj(h[:, 0])
        return {'text_embedding_raw': raw, 'text_embedding': F.normalize(raw, dim=-1)}


class HLIPClip(nn.Module):
    """open_clip CustomTextCLIP key layout: visual.*, text.*, logit_scale [, logit_bias]."""

    def __init__(self, vcfg: VisualCfg, tcfg: TextCfg, logit_bias: bool):
        super().__init__()
        self.visual = HLIPVisual(vcfg)
        self.text = HLIPText(tcfg)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.logit_bias = nn.Parameter(torch.tensor(-10.0)) if logit_bias else None
