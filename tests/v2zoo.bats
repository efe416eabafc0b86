#!/usr/bin/env bats
# torchvision networks saved by PyTorch 2.6 (traced, random weights),
# converted by this build over Debian 12's libtorch 1.13 and checked against
# PyTorch 2.6's own outputs in ONNX Runtime (and the ONNX checker at 14 and
# 17). testdata/v2/zoo holds each archive as 2.6 wrote it but for its large
# weights, which scripts/v2zoo.py fills back in (into build/v2zoo) with the
# values 2.6 computed the reference with: see scripts/make_v2_zoo.py.

load helpers

V2ZOO=${V2ZOO:-$ROOT/build/v2zoo}

# NAME OPSET...: every network at the fixtures' min_opset (14), 17 and 23.
ZOO_PLAN='
resnet18 14 17 23
mobilenet_v3_large 14 17 23
efficientnet_b0 14 17 23
vit_b_16 14 17 23
swin_t 14 17 23
'

setup_file() {
    set -o pipefail
    /usr/bin/python3 "$ROOT/scripts/v2zoo.py" fill "$ROOT/testdata/v2/zoo" "$V2ZOO" | sed "s/^/# /" >&3
    model_suite_run "$V2ZOO" "$ZOO_PLAN" "$BATS_FILE_TMPDIR/msuite"
}

setup() {
    require_pt2onnx
}

@test "PyTorch 2.6 resnet18 (traced) at opsets 14, 17, 23" { model_ok resnet18; }
@test "PyTorch 2.6 mobilenet_v3_large (traced) at opsets 14, 17, 23" { model_ok mobilenet_v3_large; }
@test "PyTorch 2.6 efficientnet_b0 (traced) at opsets 14, 17, 23" { model_ok efficientnet_b0; }
@test "PyTorch 2.6 vit_b_16 (traced) at opsets 14, 17, 23" { model_ok vit_b_16; }
@test "PyTorch 2.6 swin_t (traced) at opsets 14, 17, 23" { model_ok swin_t; }

@test "v2zoo: the filled archive differs from 2.6's skeleton only in the emptied storages" {
    # What the suite converts is PyTorch 2.6's archive: every record but the
    # large float32 storages is byte for byte the skeleton's, and those are
    # empty in the skeleton and full in the filled archive.
    ROOT=$ROOT /usr/bin/python3 - "$ROOT/testdata/v2/zoo/vit_b_16.pt" "$V2ZOO/vit_b_16.pt" <<'PY'
import os, sys, zipfile
sys.path.insert(0, os.path.join(os.environ["ROOT"], "scripts"))
import v2zoo
skel, full = zipfile.ZipFile(sys.argv[1]), zipfile.ZipFile(sys.argv[2])
assert skel.namelist() == full.namelist(), "record lists differ"
big = v2zoo.storages(skel)
assert len(big) > 50, "only %d regenerated storages" % len(big)
assert any(n.endswith("/data.pkl") for n in skel.namelist())
assert any("/code/" in n for n in skel.namelist())
for n in skel.namelist():
    a, b = skel.read(n), full.read(n)
    if n in big:
        assert a == b"" and len(b) == big[n][2] * 4, n
    else:
        assert a == b, n
print("ok", len(big), "storages filled")
PY
}
