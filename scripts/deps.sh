#!/usr/bin/env bash
# Install what pt2onnx needs to build and test, and nothing that is already
# there. Safe to run again and again: when everything is present it prints
# nothing and touches nothing.
#
#   Debian packages  compiler, libtorch, protobuf-c, cJSON, bats, and the
#                    Python side used only to make fixtures and check models
#   .deps/           onnxruntime-node (npm), the ONNX Runtime used by tests
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ORT_VERSION=1.30.0

PACKAGES=(
    gcc g++ make time
    libtorch-dev protobuf-c-compiler libprotobuf-c-dev libcjson-dev zlib1g-dev
    bats
    python3-torch python3-torchvision python3-onnx
    # libtorch's recommended BLAS (apt installs it with recommends; we
    # install without them). Without it libtorch falls back to the
    # reference BLAS, ~20x slower: making the test models (make_models.py
    # runs each network) and torch.onnx.export in `make bench` would
    # crawl, and the benchmark's peer would be slower than on a normal
    # install.
    libopenblas0
    # ---- report ----
    python3-jsonschema
)
# Node.js may come from elsewhere than Debian; only ask apt when it is absent.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case $status in
        *" installed") ;;
        *) missing+=("$pkg") ;;
    esac
done

if [ ${#missing[@]} -gt 0 ]; then
    # Run as root directly; otherwise go through sudo when there is one.
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            SUDO=(sudo)
        else
            echo "deps: not root and no sudo: install ${missing[*]} by hand" >&2
            exit 1
        fi
    fi
    echo "deps: installing ${missing[*]}"
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# onnxruntime-node ships its native library inside the npm package; its
# install script would try to download extras, so scripts stay disabled.
ort_pkg="$ROOT/.deps/node_modules/onnxruntime-node/package.json"
have=""
if [ -f "$ort_pkg" ]; then
    have=$(node -p 'require(process.argv[1]).version' "$ort_pkg" 2>/dev/null || true)
fi
if [ "$have" != "$ORT_VERSION" ]; then
    echo "deps: installing onnxruntime-node@$ORT_VERSION into .deps/"
    mkdir -p "$ROOT/.deps"
    # A package.json here keeps npm from climbing to a parent folder.
    [ -f "$ROOT/.deps/package.json" ] || echo '{ "private": true }' > "$ROOT/.deps/package.json"
    (cd "$ROOT/.deps" &&
        npm install --no-audit --no-fund --ignore-scripts --save-exact --loglevel=error \
            "onnxruntime-node@$ORT_VERSION" >/dev/null)
fi
