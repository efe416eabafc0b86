#!/usr/bin/python3
"""Validate ONNX files with the reference checker (structure, types, shapes).

    /usr/bin/python3 scripts/onnxcheck.py MODEL.onnx
    /usr/bin/python3 scripts/onnxcheck.py MODEL.onnx MODEL.onnx...
    /usr/bin/python3 scripts/onnxcheck.py --manifest FILE

One model: prints "ok" and exits 0, or prints the checker's complaint and
exits 1. Many models (given as arguments, or as the first field of each line
of a manifest in scripts/ortcheck.js's format, "MODEL.onnx FIXTURE.json
[LABEL]"; FILE may be - for stdin) are checked in this one process, so onnx
is imported once: one line per model, "ok LABEL" or "FAIL LABEL: complaint",
then a summary naming every failed label; exit 1 if any failed. Exit 2: bad
arguments or manifest, or onnx cannot be imported.

Debian's python3-onnx 1.12 knows opsets up to 17 and IR versions up to 8, so
this only says something useful for models at opset 17 or lower.
"""
import sys

USAGE = ("usage: onnxcheck.py MODEL.onnx...\n"
         "       onnxcheck.py --manifest FILE")


def check(onnx, path):
    """Returns None when PATH passes full_check, else the complaint."""
    try:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # checker, shape inference and parse errors alike
        msg = str(e).strip() or type(e).__name__
        return f"{path}: {type(e).__name__}: {msg}"
    return None


def read_manifest(name):
    """[(model, label)] of manifest NAME; raises ValueError naming the line
    at fault. Fields as in ortcheck.js: tabs when the line has one, else
    spaces; blank and # lines skipped."""
    if name == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(name, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise ValueError(f"{name}: {e.strerror}") from None
    entries = []
    for n, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) < 2 or not fields[0] or not fields[1]:
            raise ValueError(f"{name}:{n}: want MODEL.onnx FIXTURE.json [LABEL]")
        label = " ".join(fields[2:]).strip() or fields[0]
        entries.append((fields[0], label))
    if not entries:
        raise ValueError(f"{name}: no models listed")
    return entries


def main(argv):
    args = argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 2
    manifest = args[0] == "--manifest"
    if manifest:
        if len(args) != 2:
            print(USAGE, file=sys.stderr)
            return 2
        try:
            entries = read_manifest(args[1])
        except ValueError as e:
            print(f"onnxcheck: error: {e}", file=sys.stderr)
            return 2
    else:
        bad = [a for a in args if a.startswith("-")]
        if bad:
            print(f"onnxcheck: error: unknown option '{bad[0]}'\n{USAGE}",
                  file=sys.stderr)
            return 2
        entries = [(a, a) for a in args]
    try:
        import onnx
        import onnx.checker
    except ImportError as e:
        print(f"onnxcheck: error: cannot import onnx ({e}); run scripts/deps.sh",
              file=sys.stderr)
        return 2
    if not manifest and len(entries) == 1:
        complaint = check(onnx, entries[0][0])
        print(complaint or "ok")
        return 1 if complaint else 0
    failed = []
    for path, label in entries:
        complaint = check(onnx, path)
        if complaint:
            failed.append(label)
            print(f"FAIL {label}: {complaint}")
        else:
            print(f"ok {label}")
    n = len(entries)
    tail = ": " + ", ".join(failed) if failed else ""
    print(f"onnxcheck: {n} model{'' if n == 1 else 's'}: {n - len(failed)} ok, "
          f"{len(failed)} failed{tail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
