#!/usr/bin/python3
"""make_hostile.py — the corpus of malformed model files in testdata/hostile/.

    /usr/bin/python3 scripts/make_hostile.py testdata/hostile

Every file this writes is something pt2onnx must refuse cleanly: exit 3 or 4
with one line on stderr naming the file, in bounded time and memory, never a
signal death (tests/hostile.bats checks each one). They start from one small
valid archive made here with torch (a scripted nn.Linear(4, 3) saved with
torch.jit.save), then break it in one way each:

  trunc-*      cut at every structural boundary of the zip: inside and after
               each local header, inside and after each entry's data, inside
               the central directory, inside and just before the end record
  zip-*        wrong entries: a record missing, the archive folder renamed
               for some records, duplicate names, an entry pointing outside
               the file, a zip bomb (a record inflating 64 KiB -> 1 GiB),
               declared sizes of 4 GiB, a bad CRC
  pkl-*        data.pkl with hostile pickle opcodes: GLOBAL os.system /
               builtins.eval and REDUCE, 100000-deep nesting, absurd memo
               indices, a list containing itself, huge string lengths, a
               pickle with no STOP, a non-module top object
  tensor-*     a storage claiming 2**40 elements, a shape larger than its
               storage, a negative size, an offset past the end, an unknown
               storage type
  const-*      constants.pkl that is not a tuple
  version-*    a newer (and a nonsense) PyTorch format version
  other-*      an ONNX file, an empty file, random bytes, a text file

(The directory case is made at test time: git does not keep empty folders.)

    /usr/bin/python3 scripts/make_hostile.py --fix-crc IN OUT

rewrites a fuzzer finding IN with every member stored and its checksum
right (a deflated member is inflated as far as it goes), so that the
corpus also holds the finding as an attacker who fixes checksums would
send it (the fuzzing build skips checksums; see shim/pts.cpp).

The output is deterministic: the zip is written here, entry by entry, with
fixed timestamps, so the same torch version gives the same bytes. Files
already in the folder that this script does not make are left alone (the
fuzzer findings, named fuzz-*: fuzz-load1-* from the first hour of the
archive fuzzer, which ran before the shim's checks existed, fuzz-load2-*
from the second; each -crcfixed twin is the finding rewritten by
--fix-crc below).
"""
import io
import os
import pickle
import struct
import sys
import zlib

import torch


def base_records():
    """The records of a torch.jit.save archive of nn.Linear(4, 3), in order."""
    torch.manual_seed(0)
    m = torch.jit.script(torch.nn.Linear(4, 3))
    buf = io.BytesIO()
    torch.jit.save(m, buf)
    import zipfile
    z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def dos_time():
    return 0, (1 << 5) | 1  # 1980-01-01 00:00, so the bytes never change


class Entry:
    """One zip member as written, with every field overridable."""

    def __init__(self, name, data, method=0, **over):
        self.name = name.encode() if isinstance(name, str) else name
        self.data = data
        self.method = method
        self.over = over  # crc, csize, usize, offset_delta, cd_usize


def build_zip(entries):
    """Bytes of a zip with entries in order (stored, or deflated when
    method 8); returns (bytes, boundaries) where boundaries names the
    offsets of each structure, for the truncation cases."""
    out = bytearray()
    cd = bytearray()
    marks = []
    t, d = dos_time()
    for e in entries:
        payload = e.data if e.method == 0 else zlib.compress(e.data, 9)[2:-4]
        crc = e.over.get("crc", zlib.crc32(e.data) & 0xFFFFFFFF)
        csize = e.over.get("csize", len(payload))
        usize = e.over.get("usize", len(e.data))
        off = len(out)
        # Align stored data to 64 bytes as torch does, with a padding
        # extra field, so that libtorch can map tensors in place.
        hdr_len = 30 + len(e.name)
        pad = (-(off + hdr_len + 4)) % 64
        extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
        lh = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, e.method, t, d,
                         crc, csize & 0xFFFFFFFF, usize & 0xFFFFFFFF,
                         len(e.name), len(extra))
        out += lh + e.name + extra
        marks.append(("lh", e.name, off))
        marks.append(("data", e.name, len(out)))
        out += payload
        marks.append(("end", e.name, len(out)))
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0,
                          e.method, t, d, crc, csize & 0xFFFFFFFF,
                          e.over.get("cd_usize", usize) & 0xFFFFFFFF,
                          len(e.name), 0, 0, 0, 0, 0,
                          (off + e.over.get("offset_delta", 0)) & 0xFFFFFFFF)
        cd += e.name
    cd_off = len(out)
    marks.append(("cd", b"", cd_off))
    out += cd
    eocd_off = len(out)
    marks.append(("eocd", b"", eocd_off))
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries),
                       len(entries), len(cd), cd_off, 0)
    return bytes(out), marks


def entries_of(records, **change):
    """Entries for records, with change[name] replacing a record's data
    (None drops it)."""
    es = []
    for name, data in records:
        short = name.split("/", 1)[1]
        if short in change:
            if change[short] is None:
                continue
            data = change[short]
        es.append(Entry(name, data))
    return es


# ---- pickles --------------------------------------------------------------

P2 = b"\x80\x02"


def binunicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def tensor_pickle(numel=12, shape=(3, 4), stride=(4, 1), offset=0,
                  storage="FloatStorage", key="0"):
    """A data.pkl of a Linear-like module whose `weight` is described by
    the arguments (bias stays valid), in the opcodes torch writes."""
    def intop(v):
        if 0 <= v < 256:
            return b"K" + bytes([v])
        if -2**31 <= v < 2**31:
            return b"J" + struct.pack("<i", v)
        raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
        return b"\x8a" + bytes([len(raw)]) + raw

    def tup(vals):
        return b"(" + b"".join(intop(v) for v in vals) + b"t"

    def rebuild(key, storage, numel, offset, shape, stride):
        return (b"ctorch._utils\n_rebuild_tensor_v2\n" + b"((" +
                binunicode("storage") + b"ctorch\n" + storage.encode() +
                b"\n" + binunicode(key) + binunicode("cpu") + intop(numel) +
                b"tQ" + intop(offset) + tup(shape) + tup(stride) + b"\x88" +
                b"ccollections\nOrderedDict\n)R" + b"tR")

    return (P2 + b"c__torch__.torch.nn.modules.linear\nLinear\n)\x81}(" +
            binunicode("weight") +
            rebuild(key, storage, numel, offset, shape, stride) +
            binunicode("bias") + rebuild("1", "FloatStorage", 3, 0, (3,), (1,)) +
            binunicode("training") + b"\x88" +
            binunicode("_is_full_backward_hook") + b"N" + b"ub.")


def hostile_pickles():
    deep = 100000
    return {
        "pkl-global-os-system": P2 + b"cos\nsystem\n(S'touch /tmp/pt2onnx-pwned'\ntR.",
        "pkl-global-eval": P2 + b"cbuiltins\neval\n(X\x0b\x00\x00\x00__import__()tR.",
        "pkl-reduce-getattr": P2 + b"cbuiltins\ngetattr\n(cos\nenviron\nX\x04\x00\x00\x00copytR)R.",
        "pkl-deep-lists": P2 + b"](" * deep + b"e" * deep + b".",
        "pkl-deep-marks": P2 + b"(" * deep + b".",
        "pkl-deep-tuples": P2 + b")" + b"\x85" * deep + b".",
        "pkl-memo-binget": P2 + b"h\xff.",
        "pkl-memo-long-binget": P2 + b"j\xff\xff\xff\xff.",
        "pkl-memo-long-binput": P2 + b"Nr\xff\xff\xff\x7fj\xff\xff\xff\x7f.",
        "pkl-self-list": P2 + b"]q\x00(h\x00e.",
        "pkl-self-dict": P2 + b"}q\x00(X\x01\x00\x00\x00ah\x00u.",
        "pkl-huge-string": P2 + b"X\xff\xff\xff\xffabc.",
        "pkl-huge-bytes": P2 + b"B\xff\xff\xff\x7fabc.",
        "pkl-no-stop": tensor_pickle()[:-3],
        "pkl-empty": b"",
        "pkl-stack-underflow": P2 + b"t.",
        "pkl-not-module": P2 + b"K\x07.",
        "pkl-bad-opcode": P2 + b"\xff.",
        "pkl-persid-bad": P2 + b"(X\x07\x00\x00\x00storagetQ.",
    }


def fix_crc(src, dst):
    import zipfile
    raw = open(src, "rb").read()
    z = zipfile.ZipFile(io.BytesIO(raw))
    es = []
    for i in z.infolist():
        off = i.header_offset
        n, e = struct.unpack("<HH", raw[off + 26:off + 30])
        data = raw[off + 30 + n + e:off + 30 + n + e + i.compress_size]
        if i.compress_type == 8:
            d = zlib.decompressobj(-15)
            try:
                data = d.decompress(data, 1 << 24)
            except zlib.error:
                data = b""
        es.append(Entry(i.filename, data))
    with open(dst, "wb") as f:
        f.write(build_zip(es)[0])


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--fix-crc":
        fix_crc(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) != 2:
        sys.exit("usage: make_hostile.py OUTDIR")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    recs = base_records()
    names = [n for n, _ in recs]
    folder = names[0].split("/", 1)[0]
    made = {}

    base, marks = build_zip(entries_of(recs))
    # The rebuilt archive itself must load, or every case below would
    # test the writer of this script rather than pt2onnx.
    torch.jit.load(io.BytesIO(base))

    # Truncations at every boundary the writer recorded.
    seen = set()
    for kind, name, off in marks:
        short = name.decode().split("/")[-1].replace(".", "_") or kind
        cuts = {"lh": [("in-header", off + 10), ("at-header", off)],
                "data": [("after-header", off)],
                "end": [("in-data", off - max(1, (off - 1) % 7 + 1)),
                        ("after-data", off)],
                "cd": [("at-cd", off), ("in-cd", off + 20)],
                "eocd": [("at-eocd", off), ("in-eocd", off + 10),
                         ("eocd-minus-1", len(base) - 1)]}[kind]
        for label, at in cuts:
            if at in seen or at <= 0 or at >= len(base):
                continue
            seen.add(at)
            made["trunc-%s-%s.pt" % (label, short)] = base[:at]

    # Wrong entries.
    for short in ("data.pkl", "constants.pkl", "version", "data/0"):
        tag = short.replace("/", "").replace(".", "_")
        made["zip-missing-%s.pt" % tag] = build_zip(
            entries_of(recs, **{short: None}))[0]
    made["zip-missing-code.pt"] = build_zip(
        [Entry(n, d) for n, d in recs if "/code/" not in n])[0]
    made["zip-renamed-folder.pt"] = build_zip(
        [Entry(n.replace(folder + "/", "other/") if "data.pkl" in n else n, d)
         for n, d in recs])[0]
    dup = entries_of(recs)
    dup.append(Entry(folder + "/data.pkl", hostile_pickles()["pkl-self-list"]))
    made["zip-duplicate-data_pkl.pt"] = build_zip(dup)[0]
    es = entries_of(recs)
    es[0].over["offset_delta"] = 1 << 30
    made["zip-offset-outside.pt"] = build_zip(es)[0]
    es = entries_of(recs)
    for e in es:
        e.over["cd_usize"] = 0xFFFFFFFF
    made["zip-huge-sizes.pt"] = build_zip(es)[0]
    es = entries_of(recs)
    es[0].over["crc"] = 0
    made["zip-bad-crc.pt"] = build_zip(es)[0]
    es = [Entry(n, d) for n, d in recs]
    # 1 GiB of zeros deflates to ~1 MiB; a 64 MiB record keeps the file
    # small (64 KiB) while claiming 1000 times more when inflated.
    bomb = bytes(64 << 20)
    for e in es:
        if e.name.endswith(b"/data/0"):
            e.data, e.method = bomb, 8
    made["zip-bomb-storage.pt"] = build_zip(es)[0]
    es = [Entry(n, d) for n, d in recs]
    for e in es:
        if e.name.endswith(b"code/__torch__/torch/nn/modules/linear.py"):
            e.data, e.method = e.data + b"\n" * (64 << 20), 8
    made["zip-bomb-code.pt"] = build_zip(es)[0]
    made["zip-no-entries.pt"] = build_zip([])[0]
    made["zip-traversal-name.pt"] = build_zip(
        [Entry(n.replace(folder + "/code/", folder + "/../../code/"), d)
         for n, d in recs])[0]

    for name, pkl in hostile_pickles().items():
        made[name + ".pt"] = build_zip(entries_of(recs, **{"data.pkl": pkl}))[0]

    tensors = {
        "tensor-storage-2pow40": dict(numel=1 << 40, shape=(3, 4)),
        "tensor-shape-2pow40": dict(shape=(1 << 20, 1 << 20), stride=(1 << 20, 1)),
        "tensor-shape-bigger-than-storage": dict(shape=(30, 40), stride=(40, 1)),
        "tensor-storage-bigger-than-record": dict(numel=1000, shape=(3, 4)),
        "tensor-offset-past-end": dict(offset=1000),
        "tensor-negative-size": dict(shape=(-3, 4)),
        "tensor-huge-stride": dict(stride=(1 << 40, 1)),
        "tensor-unknown-storage": dict(storage="NoSuchStorage"),
        "tensor-missing-record": dict(key="77"),
        "tensor-double-storage-short": dict(storage="DoubleStorage"),
    }
    for name, kw in tensors.items():
        made[name + ".pt"] = build_zip(
            entries_of(recs, **{"data.pkl": tensor_pickle(**kw)}))[0]

    made["const-not-tuple.pt"] = build_zip(
        entries_of(recs, **{"constants.pkl": P2 + b"K\x05."}))[0]
    made["const-list.pt"] = build_zip(
        entries_of(recs, **{"constants.pkl": P2 + b"]."}))[0]
    made["const-garbage.pt"] = build_zip(
        entries_of(recs, **{"constants.pkl": b"\x00\x01\x02"}))[0]
    made["version-newer.pt"] = build_zip(
        entries_of(recs, **{"version": b"99\n"}))[0]
    made["version-nonsense.pt"] = build_zip(
        entries_of(recs, **{"version": b"x\n"}))[0]
    made["version-huge.pt"] = build_zip(
        entries_of(recs, **{"version": b"18446744073709551617\n"}))[0]

    # Source ranges (.debug_pkl) whose numbers point outside what they
    # index: libtorch reads them unchecked.
    dbg = next(n for n, _ in recs if n.endswith("linear.py.debug_pkl"))
    dshort = dbg.split("/", 1)[1]
    tag, table, records = pickle.loads(dict(recs)[dbg])

    def with_record(i, rec):
        rs = list(records)
        rs[i] = rec
        return pickle.dumps((tag, table, tuple(rs)), protocol=2)
    i = next(k for k, r in enumerate(records) if r[1][0][0])
    off, ((texts, fname, line), a, b), handle = records[i]
    made["debug-same-repickled.pt"] = build_zip(
        entries_of(recs, **{dshort: with_record(i, records[i])}))[0]
    torch.jit.load(io.BytesIO(made["debug-same-repickled.pt"]))
    del made["debug-same-repickled.pt"]
    debug = {
        "string-index": (off, ((list(texts[:-1]) + [99], fname, line), a, b),
                         handle),
        "file-index": (off, ((texts, 99, line), a, b), handle),
        "range-past-text": (off, ((texts, fname, line), a, 1 << 20), handle),
        "range-reversed": (off, ((texts, fname, line), b, a - 1), handle),
        "offset-past-code": (1 << 20, ((texts, fname, line), a, b), handle),
    }
    for name, rec in debug.items():
        made["debug-%s.pt" % name] = build_zip(
            entries_of(recs, **{dshort: with_record(i, rec)}))[0]
    made["debug-not-tuple.pt"] = build_zip(
        entries_of(recs, **{dshort: P2 + b"K\x05."}))[0]

    made["other-empty.pt"] = b""
    made["other-text.pt"] = b"this is not a model\n"
    rnd = bytearray()
    state = 12345
    for _ in range(4096):  # a fixed LCG: the same bytes every run
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        rnd.append(state >> 16 & 0xFF)
    made["other-random.pt"] = b"PK\x03\x04" + bytes(rnd)
    made["other-onnx.onnx"] = onnx_bytes()

    total = 0
    for name, data in sorted(made.items()):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
        total += len(data)
    print("%d files, %d bytes in %s" % (len(made), total, outdir))


def onnx_bytes():
    """A small valid ONNX model (what a user might pass by mistake)."""
    import onnx
    from onnx import helper, TensorProto
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    m = helper.make_model(g, producer_name="make_hostile",
                          opset_imports=[helper.make_opsetid("", 17)])
    return m.SerializeToString()


if __name__ == "__main__":
    main()
