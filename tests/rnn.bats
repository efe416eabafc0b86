#!/usr/bin/env bats
# Recurrent layers that ONNX's LSTM/GRU/RNN cannot express: refused with
# exit 4 and the reason, no output written. (What converts is in the
# fixtures of scripts/fixtures/rnn.py, run by tests/ops.bats.) The models
# are made here with PyTorch: they are a few lines each.

load helpers

setup_file() {
    # From a file: scripting reads the classes' source.
    cat > "$BATS_FILE_TMPDIR/make.py" <<'PY'
import sys
import torch
import torch.nn as nn
from torch import Tensor
from typing import List

out = sys.argv[1]
torch.manual_seed(0)


class Seq(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.rnn = layer

    def forward(self, x):
        y, (h, c) = self.rnn(x)
        return y, h, c


class Packed(nn.Module):
    """aten::lstm.data: an LSTM over a packed sequence (data, batch_sizes)."""

    def __init__(self):
        super().__init__()
        self.w = [torch.randn(24, 4), torch.randn(24, 6), torch.randn(24),
                  torch.randn(24)]

    def forward(self, data: Tensor, batch_sizes: Tensor, h: Tensor, c: Tensor):
        y, hn, cn = torch.lstm(data, batch_sizes, [h, c], self.w, True, 1, 0.0,
                               False, False)
        return y


x = torch.randn(5, 2, 4)
torch.jit.save(torch.jit.trace(Seq(nn.LSTM(4, 6, proj_size=3)).eval(), x),
               out + "/proj_traced.pt")
torch.jit.save(torch.jit.script(Seq(nn.LSTM(4, 6, num_layers=2,
                                            proj_size=3)).eval()),
               out + "/proj_scripted.pt")
# Traced in training mode: aten::lstm records train=True and its dropout.
torch.jit.save(torch.jit.trace(Seq(nn.LSTM(4, 6, num_layers=2, dropout=0.5)),
                               x, check_trace=False),
               out + "/train_dropout.pt")
torch.jit.save(torch.jit.script(Packed()), out + "/packed.pt")
PY
    "$PYTHON" "$BATS_FILE_TMPDIR/make.py" "$BATS_FILE_TMPDIR" \
        2> "$BATS_FILE_TMPDIR/make.log" || { cat "$BATS_FILE_TMPDIR/make.log"; return 1; }
}

setup() {
    require_pt2onnx
    OUT=$BATS_TEST_TMPDIR/out.onnx
}

# refused MODEL WANT ARGS...: exit 4, one aten::lstm problem whose message
# contains WANT, and no output.
refused() {
    run --separate-stderr "$PT2ONNX" "$BATS_FILE_TMPDIR/$1" -o "$OUT" "${@:3}"
    [ "$status" -eq 4 ] || fail "exit $status, want 4" "$stderr" || return
    [[ $stderr == *"aten::lstm ("*"$2"* ]] || fail "want '$2'" "$stderr" || return
    [ ! -e "$OUT" ] || fail "an output was written"
}

@test "LSTM with proj_size, traced: refused, naming proj_size" {
    refused proj_traced.pt "lstm with proj_size" -s 5x2x4
}

@test "LSTM with proj_size, scripted (two layers): refused, naming proj_size" {
    refused proj_scripted.pt "lstm with proj_size" -s 5x2x4
}

@test "LSTM traced in training mode with dropout: refused, naming dropout" {
    refused train_dropout.pt "dropout in training mode" -s 5x2x4
}

@test "LSTM over a packed sequence (aten::lstm.data): refused" {
    refused packed.pt "packed sequence" -s 9x4 -s 5:int64 -s 2x6 -s 2x6
}
