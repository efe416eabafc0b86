#!/usr/bin/python3
"""Validate an ONNX file with the reference checker (structure, types, shapes).

    /usr/bin/python3 scripts/onnxcheck.py MODEL.onnx

Prints "ok" and exits 0, or prints the checker's complaint and exits 1.
Debian's python3-onnx 1.12 knows opsets up to 17 and IR versions up to 8, so
this only says something useful for models at opset 17 or lower.
"""
import sys


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print("usage: onnxcheck.py MODEL.onnx", file=sys.stderr)
        return 2
    path = argv[1]
    try:
        import onnx
        import onnx.checker
    except ImportError as e:
        print(f"onnxcheck: error: cannot import onnx ({e}); run scripts/deps.sh",
              file=sys.stderr)
        return 2
    try:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # checker, shape inference and parse errors alike
        msg = str(e).strip() or type(e).__name__
        print(f"{path}: {type(e).__name__}: {msg}")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
