#!/usr/bin/python3
"""make_v2_fixtures.py — fixtures written by PyTorch 2.x.

    python3 scripts/make_v2_fixtures.py testdata/v2          (small ones)

Run under PyTorch 2.x (Debian 13's python3-torch 2.6, in a chroot: see
README "PyTorch 2.x archives" and `make v2-fixtures`), never Debian 12's
1.13: the point is archives a newer PyTorch wrote, with its outputs as the
reference. The json is the format of scripts/make_fixtures.py (write_case),
so tests/ops.bats and tests/v2.bats check them with the same machinery.

  testdata/v2/ops/     aten::scaled_dot_product_attention cases (ops.bats
                       runs them with OPS_FIXTURES=testdata/v2/ops)
  testdata/v2/models/  small models: nn.MultiheadAttention, an
                       nn.TransformerEncoder traced (with and without
                       no_grad), a GPT-style decoder block calling
                       F.scaled_dot_product_attention(is_causal=True), a
                       BERT-style encoder, an LSTM, a small CNN
  (torchvision networks: scripts/make_v2_zoo.py)
"""
import os
import sys
import zlib

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import write_case  # noqa: E402  (same json format)


def seeded(name):
    seed = zlib.crc32(name.encode())
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


class Sdpa(torch.nn.Module):
    """F.scaled_dot_product_attention with the arguments of a case."""

    def __init__(self, is_causal=False, scale=None, gqa=False):
        super().__init__()
        self.is_causal = is_causal
        self.scale = scale
        self.gqa = gqa

    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(
            q, k, v, is_causal=self.is_causal, scale=self.scale,
            enable_gqa=self.gqa)


class SdpaMask(torch.nn.Module):
    def __init__(self, gqa=False):
        super().__init__()
        self.gqa = gqa

    def forward(self, q, k, v, mask):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                              enable_gqa=self.gqa)


class SdpaDropout(torch.nn.Module):
    """As nn.MultiheadAttention does: dropout only when training."""

    def __init__(self):
        super().__init__()
        self.p = 0.25

    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.p if self.training else 0.0)


def rnd(gen, *dims, dtype=torch.float32):
    return torch.randn(*dims, generator=gen).to(dtype)


def sdpa_cases():
    """(name, module, [input dims], kind): kind is the mask's dtype,
    "double" for float64 inputs, "mha" for the one-input MHA case."""
    return [
        ("sdpa_rank4", Sdpa(), [(2, 3, 5, 8), (2, 3, 6, 8), (2, 3, 6, 4)],
         None),
        ("sdpa_rank3", Sdpa(), [(2, 5, 8), (2, 6, 8), (2, 6, 4)], None),
        ("sdpa_causal", Sdpa(is_causal=True),
         [(2, 3, 5, 8), (2, 3, 5, 8), (2, 3, 5, 8)], None),
        ("sdpa_causal_rect", Sdpa(is_causal=True),
         [(1, 2, 4, 8), (1, 2, 6, 8), (1, 2, 6, 8)], None),
        ("sdpa_scale", Sdpa(scale=0.3), [(2, 2, 4, 8), (2, 2, 4, 8),
                                         (2, 2, 4, 8)], None),
        ("sdpa_gqa", Sdpa(gqa=True), [(1, 4, 5, 8), (1, 2, 5, 8),
                                      (1, 2, 5, 8)], None),
        ("sdpa_gqa_causal", Sdpa(is_causal=True, gqa=True),
         [(2, 6, 5, 8), (2, 3, 5, 8), (2, 3, 5, 8)], None),
        ("sdpa_gqa_mask", SdpaMask(gqa=True), [(2, 4, 5, 8), (2, 2, 6, 8),
                                               (2, 2, 6, 8)], "float"),
        ("sdpa_mask_bool", SdpaMask(), [(2, 3, 5, 8), (2, 3, 6, 8),
                                        (2, 3, 6, 8)], "bool"),
        ("sdpa_mask_float", SdpaMask(), [(2, 3, 5, 8), (2, 3, 6, 8),
                                         (2, 3, 6, 8)], "float"),
        ("sdpa_dropout_eval", SdpaDropout(), [(2, 3, 5, 8), (2, 3, 5, 8),
                                              (2, 3, 5, 8)], None),
        ("sdpa_double", Sdpa(), [(1, 2, 3, 4)] * 3, "double"),
        # nn.MultiheadAttention traced in eval: the fused
        # aten::_native_multi_head_attention (one input, self-attention).
        ("native_mha", Mha().eval(), [(2, 5, 16)], "mha"),
        # nn.TransformerEncoderLayer traced in eval under no_grad: the
        # fused aten::_transformer_encoder_layer_fwd, post-norm with relu
        # and pre-norm with gelu.
        ("encoder_layer_fwd", torch.nn.TransformerEncoderLayer(
            16, 4, 32, batch_first=True).eval(), [(2, 5, 16)], "mha"),
        ("encoder_layer_fwd_prenorm_gelu", torch.nn.TransformerEncoderLayer(
            16, 2, 24, activation="gelu", norm_first=True,
            batch_first=True).eval(), [(2, 5, 16)], "mha"),
    ]


SYMBOLIC = {"sdpa_causal": {"seq": (5, 7)}, "sdpa_rank4": {"seq": (5, 3)},
            "native_mha": {"seq": (5, 3)},
            "encoder_layer_fwd": {"seq": (5, 3)}}


def write_sdpa(folder):
    os.makedirs(folder, exist_ok=True)
    for name, module, dims, kind in sdpa_cases():
        gen = seeded(name)
        sizes = SYMBOLIC.get(name)
        nsets = 2 if sizes else 1
        sets, shapes, bindings = [], None, []
        for s in range(nsets):
            b = {k: v[s] for k, v in sizes.items()} if sizes else {}
            bindings.append(b)
            # The query's sequence length (dim -2) is the symbolic one.
            real = [list(d) for d in dims]
            if sizes:
                real[0][-2] = b["seq"]
                if name == "sdpa_causal":
                    real[1][-2] = real[2][-2] = b["seq"]
            dt = torch.float64 if kind == "double" else torch.float32
            inputs = [rnd(gen, *d, dtype=dt) for d in real]
            if kind == "bool":
                m = torch.rand(real[0][-2], real[1][-2], generator=gen) > 0.3
                m[:, 0] = True  # no fully masked row (NaN in PyTorch)
                inputs.append(m)
            elif kind == "float":
                heads = 1 if "gqa" in name else 3
                inputs.append(rnd(gen, 2, heads, real[0][-2], real[1][-2]))
            sets.append(inputs)
        if shapes is None:
            shapes = []
            for i, t in enumerate(sets[0]):
                d = [str(x) for x in t.shape]
                if sizes and (i == 0 or (name == "sdpa_causal" and i < 3)):
                    d[-2] = "seq"
                suffix = {torch.bool: ":bool", torch.float64: ":float64"}
                shapes.append("x".join(d) + suffix.get(t.dtype, ""))
        if kind == "mha":
            low = 9 if "gelu" in name else 7  # Erf
            write_case(folder, name, module, sets, "trace", shapes, low,
                       1e-4, 1e-5, sorted({low, 11, 13, 17, 23}),
                       bindings if sizes else None)
            continue
        # Where (9) for a bool mask, Range (11) for the causal one.
        low = 11 if "causal" in name else 9 if kind == "bool" else 7
        write_case(folder, name, module, sets, "script", shapes, low, 1e-4,
                   1e-5, sorted({low, 11, 13, 17, 23}),
                   bindings if sizes else None)


# ---- small models --------------------------------------------------------

class Mha(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.mha = torch.nn.MultiheadAttention(16, 4, batch_first=True)

    def forward(self, x):
        return self.mha(x, x, x, need_weights=False)[0]


class GptBlock(torch.nn.Module):
    """A GPT-style decoder: causal self-attention through
    F.scaled_dot_product_attention(is_causal=True), then an MLP."""

    def __init__(self, d=16, heads=2, vocab=32, layers=2):
        super().__init__()
        self.heads = heads
        self.emb = torch.nn.Embedding(vocab, d)
        self.blocks = torch.nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(torch.nn.ModuleDict({
                "ln1": torch.nn.LayerNorm(d), "qkv": torch.nn.Linear(d, 3 * d),
                "proj": torch.nn.Linear(d, d), "ln2": torch.nn.LayerNorm(d),
                "fc": torch.nn.Linear(d, 4 * d),
                "out": torch.nn.Linear(4 * d, d)}))
        self.head = torch.nn.Linear(d, vocab)

    def forward(self, idx):
        x = self.emb(idx)
        b, t, d = x.shape
        for blk in self.blocks:
            q, k, v = blk["qkv"](blk["ln1"](x)).split(d, dim=2)
            q = q.view(b, t, self.heads, d // self.heads).transpose(1, 2)
            k = k.view(b, t, self.heads, d // self.heads).transpose(1, 2)
            v = v.view(b, t, self.heads, d // self.heads).transpose(1, 2)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            y = y.transpose(1, 2).contiguous().view(b, t, d)
            x = x + blk["proj"](y)
            x = x + blk["out"](F.gelu(blk["fc"](blk["ln2"](x))))
        return self.head(x)


class Bert(torch.nn.Module):
    """A BERT-style encoder: token + position embeddings, post-norm
    encoder layers with a padding mask, a pooler."""

    def __init__(self, d=16, heads=2, vocab=32, layers=2, maxlen=16):
        super().__init__()
        self.tok = torch.nn.Embedding(vocab, d)
        self.pos = torch.nn.Embedding(maxlen, d)
        self.ln = torch.nn.LayerNorm(d)
        layer = torch.nn.TransformerEncoderLayer(d, heads, 4 * d,
                                                 activation="gelu",
                                                 batch_first=True)
        self.enc = torch.nn.TransformerEncoder(layer, layers,
                                               enable_nested_tensor=False)
        self.pool = torch.nn.Linear(d, d)

    def forward(self, ids, mask):
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.ln(self.tok(ids) + self.pos(pos))
        x = self.enc(x, src_key_padding_mask=mask == 0)
        return x, torch.tanh(self.pool(x[:, 0]))


class Lstm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(8, 12, num_layers=2, batch_first=True)

    def forward(self, x):
        return self.lstm(x)[0]


class Cnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8),
            torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
            torch.nn.Linear(16, 10))

    def forward(self, x):
        return self.body(x)


def encoder():
    layer = torch.nn.TransformerEncoderLayer(16, 4, 32, batch_first=True)
    return torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)


def write_models(folder):
    os.makedirs(folder, exist_ok=True)
    # (name, factory, mode, inputs(gen), shapes, lowest opset: the one the
    # converted model needs, so that tests/ops.bats checks it there and
    # "needs opset N" below it). trace_nograd: traced under
    # torch.no_grad() (write_case traces under no_grad; "trace" here is
    # traced with autograd on, as most users do).
    cases = [
        ("mha", Mha, "trace", lambda g: [rnd(g, 2, 5, 16)], ["2x5x16"], 7),
        ("mha_script", Mha, "script", lambda g: [rnd(g, 2, 5, 16)],
         ["2x5x16"], 7),
        ("transformer_encoder", encoder, "trace_grad",
         lambda g: [rnd(g, 2, 6, 16)], ["2x6x16"], 7),
        ("transformer_encoder_nograd", encoder, "trace_nograd",
         lambda g: [rnd(g, 2, 6, 16)], ["2x6x16"], 7),
        ("gpt", GptBlock, "script",
         lambda g: [torch.randint(0, 32, (2, 7), generator=g)],
         ["2x7:int64"], 11),
        ("bert", Bert, "trace",
         lambda g: [torch.randint(0, 32, (2, 7), generator=g),
                    torch.tensor([[1] * 7, [1] * 5 + [0] * 2])],
         ["2x7:int64", "2x7:int64"], 9),
        ("lstm", Lstm, "script", lambda g: [rnd(g, 2, 5, 8)], ["2x5x8"],
         7),
        ("cnn", Cnn, "script", lambda g: [rnd(g, 2, 3, 16, 16)],
         ["2x3x16x16"], 7),
    ]
    for name, factory, mode, inputs, shapes, low in cases:
        gen = seeded(name)
        module = factory().eval()
        sets = [inputs(gen)]
        if mode in ("trace_grad", "trace_nograd"):
            # Traced here, with autograd on (as most users do) or under
            # no_grad; the trace check is off: the encoder's fast path
            # makes two traces differ in module names only.
            with torch.set_grad_enabled(mode == "trace_grad"):
                module = torch.jit.trace(module, tuple(sets[0]),
                                         check_trace=False)
            mode = "script"  # scripting a traced module keeps it
        write_case(folder, name, module, sets, mode, shapes, low, 1e-4,
                   1e-4, [low, 17, 23])


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--ops":
        write_sdpa(os.path.join(sys.argv[2], "ops"))
    elif len(sys.argv) == 2:
        write_sdpa(os.path.join(sys.argv[1], "ops"))
        write_models(os.path.join(sys.argv[1], "models"))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
