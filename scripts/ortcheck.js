#!/usr/bin/env node
// ortcheck.js — run a converted model in ONNX Runtime and compare its outputs
// with PyTorch's, as recorded in a fixture json.
//
//   node scripts/ortcheck.js MODEL.onnx FIXTURE.json [--rtol R] [--atol A]
//
// The fixture holds the inputs (fed in order to the session's inputs) and the
// expected outputs (compared in order with the session's outputs). A value
// passes when |a - b| <= atol + rtol * |b|; NaN matches NaN, integers and bools
// must be equal. Shapes and dtypes must match exactly.
//
// Exit status: 0 all outputs match, 1 some output does not, 2 anything else
// went wrong (bad arguments, unreadable files, the session failed).
'use strict';

const fs = require('fs');
const path = require('path');

const ORT_DIR = path.join(__dirname, '..', '.deps', 'node_modules', 'onnxruntime-node');

class UsageError extends Error {}

function fail(msg) {
  process.stderr.write(`ortcheck: error: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const out = { files: [], rtol: undefined, atol: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rtol' || a === '--atol') {
      const v = argv[++i];
      const n = Number(v);
      if (v === undefined || v === '' || !Number.isFinite(n) || n < 0) {
        throw new UsageError(`${a} needs a non-negative number`);
      }
      out[a.slice(2)] = n;
    } else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: node ortcheck.js MODEL.onnx FIXTURE.json [--rtol R] [--atol A]\n');
      process.exit(0);
    } else if (a.startsWith('-') && a !== '-') {
      throw new UsageError(`unknown option '${a}'`);
    } else {
      out.files.push(a);
    }
  }
  if (out.files.length !== 2) {
    throw new UsageError('usage: node ortcheck.js MODEL.onnx FIXTURE.json [--rtol R] [--atol A]');
  }
  return out;
}

// Bytes per element and how the fixture's raw little-endian bytes are viewed.
// float16 has no native array in older Node: ORT then hands out Uint16Array
// holding the bit patterns, which decodeHalf turns into numbers.
const DTYPES = {
  float32: { size: 4, array: Float32Array, kind: 'float' },
  float64: { size: 8, array: Float64Array, kind: 'float' },
  float16: { size: 2, array: globalThis.Float16Array || Uint16Array, kind: 'half' },
  int64: { size: 8, array: BigInt64Array, kind: 'bigint' },
  int32: { size: 4, array: Int32Array, kind: 'int' },
  int16: { size: 2, array: Int16Array, kind: 'int' },
  int8: { size: 1, array: Int8Array, kind: 'int' },
  uint8: { size: 1, array: Uint8Array, kind: 'int' },
  bool: { size: 1, array: Uint8Array, kind: 'bool' },
};

function dtypeInfo(name, where) {
  const info = DTYPES[name];
  if (!info) throw new Error(`${where}: unsupported dtype '${name}'`);
  return info;
}

function numel(dims) {
  return dims.reduce((n, d) => n * d, 1);
}

// Turn one fixture tensor into an ORT tensor. The bytes are copied into a
// fresh ArrayBuffer so the typed array is aligned whatever Buffer's pool did.
function fixtureTensor(ort, t, where) {
  if (!t || !Array.isArray(t.dims) || typeof t.dtype !== 'string' || typeof t.data !== 'string') {
    throw new Error(`${where}: needs dims, dtype and data`);
  }
  const info = dtypeInfo(t.dtype, where);
  const raw = Buffer.from(t.data, 'base64');
  const n = numel(t.dims);
  if (raw.length !== n * info.size) {
    throw new Error(`${where}: ${raw.length} bytes of data for dims [${t.dims}] of ${t.dtype} (want ${n * info.size})`);
  }
  const ab = new ArrayBuffer(raw.length);
  new Uint8Array(ab).set(raw);
  return new ort.Tensor(t.dtype, new info.array(ab), t.dims);
}

// IEEE 754 binary16 bit pattern to a JS number.
function decodeHalf(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

// The elements of an output as something indexable by number: float16 bit
// patterns are decoded, everything else (bigints included, compared exactly)
// is used as it is.
function values(arr, kind) {
  if (kind === 'half' && arr instanceof Uint16Array) {
    const out = new Float64Array(arr.length);
    for (let i = 0; i < arr.length; i++) out[i] = decodeHalf(arr[i]);
    return out;
  }
  return arr;
}

function sameDims(a, b) {
  return a.length === b.length && a.every((d, i) => Number(d) === Number(b[i]));
}

// Compare one output; returns {ok, maxAbs, maxRel, bad, firstBad}.
function compare(got, want, kind, rtol, atol) {
  let maxAbs = 0;
  let maxRel = 0;
  let bad = 0;
  let firstBad = -1;
  const n = want.length;
  for (let i = 0; i < n; i++) {
    const a = got[i];
    const b = want[i];
    let ok;
    let diff;
    if (kind === 'bigint') {
      ok = a === b;
      diff = Math.abs(Number(a - b));
    } else if (kind === 'int' || kind === 'bool') {
      const x = kind === 'bool' ? (a ? 1 : 0) : a;
      const y = kind === 'bool' ? (b ? 1 : 0) : b;
      ok = x === y;
      diff = Math.abs(x - y);
    } else if (Number.isNaN(a) || Number.isNaN(b)) {
      ok = Number.isNaN(a) && Number.isNaN(b);
      diff = ok ? 0 : Infinity;
    } else if (a === b) {
      ok = true; // also covers equal infinities
      diff = 0;
    } else {
      diff = Math.abs(a - b);
      ok = diff <= atol + rtol * Math.abs(b);
    }
    if (diff > maxAbs) maxAbs = diff;
    if (diff > 0) {
      const bn = Math.abs(Number(b));
      const rel = bn > 0 ? diff / bn : Infinity;
      if (rel > maxRel) maxRel = rel;
    }
    if (!ok) {
      if (firstBad < 0) firstBad = i;
      bad++;
    }
  }
  return { ok: bad === 0, maxAbs, maxRel, bad, firstBad };
}

function fmt(x) {
  if (Number.isInteger(x) || !Number.isFinite(x)) return String(x);
  return x.toPrecision(3);
}

function show(v) {
  return typeof v === 'bigint' ? v.toString() : String(v);
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    fail(e.message);
  }
  const [modelPath, fixturePath] = args.files;

  let fixture;
  try {
    fixture = JSON.parse(fs.readFileSync(fixturePath, 'utf8'));
  } catch (e) {
    fail(`${fixturePath}: ${e.message}`);
  }
  if (!Array.isArray(fixture.inputs) || !Array.isArray(fixture.outputs)) {
    fail(`${fixturePath}: needs "inputs" and "outputs" arrays`);
  }
  const rtol = args.rtol ?? fixture.rtol ?? 1e-4;
  const atol = args.atol ?? fixture.atol ?? 1e-5;
  if (!fs.existsSync(modelPath)) fail(`${modelPath}: no such file`);

  let ort;
  try {
    ort = require(ORT_DIR);
  } catch (e) {
    fail(`cannot load onnxruntime-node from ${ORT_DIR} (run scripts/deps.sh): ${e.message}`);
  }

  let session;
  try {
    session = await ort.InferenceSession.create(modelPath, {
      executionProviders: ['cpu'],
      logSeverityLevel: 3,
    });
  } catch (e) {
    fail(`${modelPath}: ONNX Runtime cannot load the model: ${e.message}`);
  }

  const inNames = session.inputNames;
  if (inNames.length !== fixture.inputs.length) {
    fail(`${modelPath} has ${inNames.length} input(s) [${inNames.join(', ')}], ` +
      `${fixturePath} has ${fixture.inputs.length}`);
  }
  const feeds = {};
  try {
    inNames.forEach((name, i) => {
      feeds[name] = fixtureTensor(ort, fixture.inputs[i], `${fixturePath}: input ${i}`);
    });
  } catch (e) {
    fail(e.message);
  }

  let results;
  try {
    results = await session.run(feeds);
  } catch (e) {
    fail(`${modelPath}: run failed: ${e.message}`);
  }

  const outNames = session.outputNames;
  let allOk = true;
  if (outNames.length !== fixture.outputs.length) {
    process.stdout.write(`${modelPath} has ${outNames.length} output(s) [${outNames.join(', ')}], ` +
      `${fixturePath} expects ${fixture.outputs.length} MISMATCH\n`);
    allOk = false;
  }
  const count = Math.min(outNames.length, fixture.outputs.length);
  for (let i = 0; i < count; i++) {
    const name = outNames[i];
    const got = results[name];
    const exp = fixture.outputs[i];
    const head = `output ${i} (${name}): dims [${got.dims.join(',')}]`;
    let info;
    let want;
    try {
      info = dtypeInfo(exp.dtype, `${fixturePath}: output ${i}`);
      want = fixtureTensor(ort, exp, `${fixturePath}: output ${i}`);
    } catch (e) {
      fail(e.message);
    }
    if (got.type !== exp.dtype) {
      process.stdout.write(`${head} dtype ${got.type}, expected ${exp.dtype} MISMATCH\n`);
      allOk = false;
      continue;
    }
    if (!sameDims(got.dims, exp.dims)) {
      process.stdout.write(`${head} expected [${exp.dims.join(',')}] MISMATCH\n`);
      allOk = false;
      continue;
    }
    const g = values(got.data, info.kind);
    const w = values(want.data, info.kind);
    const r = compare(g, w, info.kind, rtol, atol);
    let line = `${head} max_abs=${fmt(r.maxAbs)} max_rel=${fmt(r.maxRel)}`;
    if (r.ok) {
      line += ' ok';
    } else {
      allOk = false;
      line += ` MISMATCH (${r.bad} of ${w.length} beyond rtol=${rtol} atol=${atol};` +
        ` first at flat index ${r.firstBad}: got ${show(g[r.firstBad])}, expected ${show(w[r.firstBad])})`;
    }
    process.stdout.write(line + '\n');
  }
  process.exit(allOk ? 0 : 1);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
