#!/usr/bin/python3
"""v2zoo.py — PyTorch 2.x archives of whole torchvision networks, committed
without their weights.

    python3 scripts/v2zoo.py fill SKELETONS OUTDIR [NAME ...]
    python3 scripts/v2zoo.py strip ARCHIVE.pt SKELETON.pt

A torchvision network saved by PyTorch 2.6 is tens to hundreds of MiB, all
but a few hundred KiB of it weights. The suite needs the archive as 2.6
wrote it (its code/, data.pkl, version records), not those particular
weights. So testdata/v2/zoo/ holds each archive with its large float32
storages emptied (a "skeleton"), and `fill` writes them back with values
that depend only on the model name, the storage's record name, its size
and the attribute it belongs to — the same values scripts/make_v2_zoo.py
gave the network under PyTorch 2.6 before computing the reference outputs
the skeleton's json holds. `fill` also writes the fixture's input, made the
same way, so the json in OUTDIR is a complete fixture in the format of
scripts/make_fixtures.py.

No torch here (the values come from numpy's PCG64 raw stream, stable
across numpy versions, and plain float arithmetic), so both sides — Debian
13's Python in the chroot and Debian 12's in the suite — produce the same
bytes. A storage is regenerated when it is float32, holds at least
MIN_BYTES, and is referenced from data.pkl; everything else is copied as
saved.
"""
import base64
import io
import json
import os
import pickle
import sys
import zipfile
import zlib

import numpy as np

MIN_BYTES = 4096


class _Obj:
    """Any class data.pkl names: only its state matters here."""

    def __init__(self, *args, **kwargs):
        self.state = None

    def __setstate__(self, state):
        self.state = state


class _Storage:
    def __init__(self, key, kind, numel):
        self.key, self.kind, self.numel = key, kind, numel


def _rebuild_tensor(storage, offset, size, *rest):
    return ("tensor", storage, offset, tuple(size))


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "torch._utils" and name.startswith("_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name.endswith("Storage"):
            return name
        if module == "collections" and name == "OrderedDict":
            return dict
        return type(name, (_Obj,), {})

    def persistent_load(self, pid):
        if pid[0] != "storage":
            return pid
        kind = pid[1] if isinstance(pid[1], str) else getattr(pid[1], "__name__", "")
        return _Storage(str(pid[2]), kind, int(pid[4]))


def storages(zf):
    """{record name: (attribute name, tensor size)} of the float32 storages
    of data.pkl with at least MIN_BYTES: the first tensor that uses each."""
    prefix = zf.namelist()[0].split("/")[0]
    root = _Unpickler(io.BytesIO(zf.read(prefix + "/data.pkl"))).load()
    found = {}
    stack = [(root, "")]
    seen = set()
    while stack:
        obj, attr = stack.pop()
        if isinstance(obj, tuple) and len(obj) == 4 and obj[0] == "tensor":
            st = obj[1]
            rec = prefix + "/data/" + st.key
            if (isinstance(st, _Storage) and st.kind == "FloatStorage" and
                    st.numel * 4 >= MIN_BYTES and rec not in found):
                whole = obj[2] == 0 and int(np.prod(obj[3])) == st.numel
                found[rec] = (attr, obj[3] if whole else (st.numel,), st.numel)
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, _Obj):
            stack.append((obj.state, attr))
        elif isinstance(obj, dict):
            stack.extend((v, str(k)) for k, v in obj.items())
        elif isinstance(obj, (list, tuple)):
            stack.extend((v, attr) for v in obj)
    return found


def uniform(seed, n):
    """n float64 values in [0, 1) from PCG64's raw stream."""
    raw = np.random.PCG64(seed).random_raw(n)
    return (raw >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def values(model, record, attr, size, numel):
    """The float32 values of storage RECORD: unit-variance uniform noise
    scaled by role, so a deep network neither explodes nor vanishes:
    weights by 1/sqrt(fan-in), scales and variances in [0.5, 1.5], the rest
    small."""
    u = uniform(zlib.crc32(("%s/%s" % (model, record.split("/", 1)[1])).encode()),
                numel)
    sym = (2.0 * u - 1.0) * np.sqrt(3.0)
    if attr == "running_var" or (attr == "weight" and len(size) == 1):
        v = 0.5 + u
    elif len(size) >= 2:
        v = sym / np.sqrt(float(np.prod(size[1:])))
    else:
        v = 0.1 * sym
    return v.astype("<f4")


def model_input(model, dims):
    u = uniform(zlib.crc32(("%s/input" % model).encode()), int(np.prod(dims)))
    return ((2.0 * u - 1.0) * np.sqrt(3.0)).astype("<f4").reshape(dims)


def rewrite(src, dst, data_for):
    """Copies archive SRC to DST, record by record and in order, with the
    bytes data_for(name, bytes) returns."""
    tmp = dst + ".tmp"
    with zipfile.ZipFile(src) as zin, \
            zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            out = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            out.compress_type = zipfile.ZIP_STORED
            zout.writestr(out, data_for(info.filename, zin.read(info.filename)))
    os.replace(tmp, dst)


def strip(archive, skeleton):
    with zipfile.ZipFile(archive) as zf:
        big = storages(zf)
    rewrite(archive, skeleton, lambda name, data: b"" if name in big else data)


def fill_archive(model, skeleton, out):
    with zipfile.ZipFile(skeleton) as zf:
        big = storages(zf)

    def data_for(name, data):
        if name not in big:
            return data
        if data:
            raise SystemExit("%s: %s is not empty: not a skeleton" % (skeleton, name))
        attr, size, numel = big[name]
        return values(model, name, attr, size, numel).tobytes()
    rewrite(skeleton, out, data_for)


def fill(skeletons, outdir, names):
    os.makedirs(outdir, exist_ok=True)
    if not names:
        names = sorted(f[:-5] for f in os.listdir(skeletons) if f.endswith(".json"))
    for name in names:
        with open(os.path.join(skeletons, name + ".json")) as f:
            doc = json.load(f)
        pt = os.path.join(outdir, name + ".pt")
        js = os.path.join(outdir, name + ".json")
        src = os.path.join(skeletons, name + ".pt")
        if (os.path.exists(js) and os.path.getmtime(js) >= os.path.getmtime(src)
                and os.path.getmtime(js) >= os.path.getmtime(src[:-3] + ".json")):
            continue
        fill_archive(name, src, pt)
        dims = doc.pop("input_dims")
        x = model_input(name, dims)
        doc["inputs"] = [{"dims": list(dims), "dtype": "float32",
                          "data": base64.b64encode(x.tobytes()).decode("ascii")}]
        with open(js + ".tmp", "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        os.replace(js + ".tmp", js)
        print("v2zoo: %s" % pt)


def main(argv):
    if len(argv) >= 3 and argv[0] == "fill":
        fill(argv[1], argv[2], argv[3:])
    elif len(argv) == 3 and argv[0] == "strip":
        strip(argv[1], argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
