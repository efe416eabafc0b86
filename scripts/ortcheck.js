#!/usr/bin/env node
// ortcheck.js — run converted models in ONNX Runtime and compare their
// outputs with PyTorch's, as recorded in fixture jsons.
//
//   node scripts/ortcheck.js MODEL.onnx FIXTURE.json [--rtol R] [--atol A]
//   node scripts/ortcheck.js --manifest FILE [--rtol R] [--atol A]
//
// The fixture holds the inputs (fed in order to the session's inputs) and the
// expected outputs (compared in order with the session's outputs), and, for a
// model with symbolic dims, more such sets in "extra_sets": every set is run
// on the same session. A value passes when |a - b| <= atol + rtol * |b|; NaN
// matches NaN, integers and bools must be equal. Shapes and dtypes must match
// exactly. A fixture's optional "check" array, one entry per output, says
// what is compared of each: "values" (the default: all of the above) or
// "shape" (dtype and shape only, for outputs whose values PyTorch cannot
// reproduce: random numbers, empty tensors).
//
// One model: one line per output. Exit status: 0 all outputs match, 1 some
// output does not, 2 anything else went wrong (bad arguments, unreadable
// files, the session failed).
//
// --manifest FILE (or - for stdin): many models in one process, so
// onnxruntime is loaded once. Each line of FILE is MODEL.onnx FIXTURE.json
// [LABEL...], fields separated by tabs when the line has one, else by
// spaces; blank lines and lines starting with # are ignored. Prints one line
// per model, "ok LABEL" or "FAIL LABEL: why" followed by the per-output lines
// indented, then a summary naming every failed label. Exit status: 0 all
// match, 1 any model failed for any reason, 2 the manifest itself is bad.
'use strict';

const fs = require('fs');
const path = require('path');

const ORT_DIR = path.join(__dirname, '..', '.deps', 'node_modules', 'onnxruntime-node');

class UsageError extends Error {}

function fail(msg) {
  process.stderr.write(`ortcheck: error: ${msg}\n`);
  process.exit(2);
}

const USAGE = 'usage: node ortcheck.js MODEL.onnx FIXTURE.json [--rtol R] [--atol A]\n' +
  '       node ortcheck.js --manifest FILE [--rtol R] [--atol A]';

function parseArgs(argv) {
  const out = { files: [], rtol: undefined, atol: undefined, manifest: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rtol' || a === '--atol') {
      const v = argv[++i];
      const n = Number(v);
      if (v === undefined || v === '' || !Number.isFinite(n) || n < 0) {
        throw new UsageError(`${a} needs a non-negative number`);
      }
      out[a.slice(2)] = n;
    } else if (a === '--manifest') {
      const v = argv[++i];
      if (v === undefined || v === '') throw new UsageError('--manifest needs a file');
      out.manifest = v;
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else if (a.startsWith('-') && a !== '-') {
      throw new UsageError(`unknown option '${a}'`);
    } else {
      out.files.push(a);
    }
  }
  if (out.manifest !== undefined ? out.files.length !== 0 : out.files.length !== 2) {
    throw new UsageError(USAGE);
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

// A failure of one model that is not an output mismatch (exit status 2 of
// the single-model mode): unreadable fixture, session or run failed.
class CheckError extends Error {}

// Reads and parses a fixture json; returns {rtol, atol, sets} where each
// set is {name, inputs, outputs} ("" for the top-level one).
function readFixture(fixturePath) {
  let fixture;
  try {
    fixture = JSON.parse(fs.readFileSync(fixturePath, 'utf8'));
  } catch (e) {
    throw new CheckError(`${fixturePath}: ${e.message}`);
  }
  const sets = [{ name: '', sizes: fixture.sizes, inputs: fixture.inputs, outputs: fixture.outputs }];
  if (fixture.extra_sets !== undefined) {
    if (!Array.isArray(fixture.extra_sets)) {
      throw new CheckError(`${fixturePath}: "extra_sets" is not an array`);
    }
    fixture.extra_sets.forEach((x, k) => sets.push({ ...x, name: `set ${k + 1}` }));
  }
  sets.forEach((set, k) => {
    if (!Array.isArray(set.inputs) || !Array.isArray(set.outputs)) {
      throw new CheckError(`${fixturePath}: ${k ? set.name + ' ' : ''}needs "inputs" and "outputs" arrays`);
    }
  });
  if (sets.length > 1) {
    sets[0].name = 'set 0';
    for (const set of sets) {
      if (set.sizes && typeof set.sizes === 'object') {
        set.name += ` (${Object.entries(set.sizes).map(([k, v]) => `${k}=${v}`).join(', ')})`;
      }
    }
  }
  const check = fixture.check;
  if (check !== undefined &&
      (!Array.isArray(check) || !check.every((k) => k === 'values' || k === 'shape') ||
       sets.some((set) => set.outputs.length !== check.length))) {
    throw new CheckError(`${fixturePath}: "check" must list "values" or "shape" for each output`);
  }
  return { rtol: fixture.rtol, atol: fixture.atol, check, sets };
}

// Runs one input set on SESSION and compares the outputs; returns
// {ok, lines}. Throws CheckError when the set cannot be run at all.
async function checkSet(ort, session, set, modelPath, fixturePath, rtol, atol, check) {
  const where = `${fixturePath}${set.name ? ': ' + set.name : ''}`;
  const prefix = set.name ? `${set.name}: ` : '';
  const inNames = session.inputNames;
  if (inNames.length !== set.inputs.length) {
    throw new CheckError(`${modelPath} has ${inNames.length} input(s) [${inNames.join(', ')}], ` +
      `${where} has ${set.inputs.length}`);
  }
  const feeds = {};
  try {
    inNames.forEach((name, i) => {
      feeds[name] = fixtureTensor(ort, set.inputs[i], `${where}: input ${i}`);
    });
  } catch (e) {
    throw new CheckError(e.message);
  }

  let results;
  try {
    results = await session.run(feeds);
  } catch (e) {
    throw new CheckError(`${modelPath}: run failed${set.name ? ' on ' + set.name : ''}: ${e.message}`);
  }

  const lines = [];
  const outNames = session.outputNames;
  let allOk = true;
  if (outNames.length !== set.outputs.length) {
    lines.push(`${prefix}${modelPath} has ${outNames.length} output(s) [${outNames.join(', ')}], ` +
      `${where} expects ${set.outputs.length} MISMATCH`);
    allOk = false;
  }
  const count = Math.min(outNames.length, set.outputs.length);
  for (let i = 0; i < count; i++) {
    const name = outNames[i];
    const got = results[name];
    const exp = set.outputs[i];
    const head = `${prefix}output ${i} (${name}): dims [${got.dims.join(',')}]`;
    let info;
    let want;
    try {
      info = dtypeInfo(exp.dtype, `${where}: output ${i}`);
      want = fixtureTensor(ort, exp, `${where}: output ${i}`);
    } catch (e) {
      throw new CheckError(e.message);
    }
    if (got.type !== exp.dtype) {
      lines.push(`${head} dtype ${got.type}, expected ${exp.dtype} MISMATCH`);
      allOk = false;
      continue;
    }
    if (!sameDims(got.dims, exp.dims)) {
      lines.push(`${head} expected [${exp.dims.join(',')}] MISMATCH`);
      allOk = false;
      continue;
    }
    if (check && check[i] === 'shape') {
      lines.push(`${head} dtype ${got.type} ok (values not checked)`);
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
    lines.push(line);
  }
  return { ok: allOk, lines };
}

// Checks one model against every input set of one fixture; returns
// {ok, lines, sets}. Throws CheckError when it cannot be checked; a
// session is always released, so a long manifest does not accumulate them.
async function checkModel(ort, modelPath, fixturePath, args) {
  const fixture = readFixture(fixturePath);
  const rtol = args.rtol ?? fixture.rtol ?? 1e-4;
  const atol = args.atol ?? fixture.atol ?? 1e-5;
  if (!fs.existsSync(modelPath)) throw new CheckError(`${modelPath}: no such file`);
  let session;
  try {
    session = await ort.InferenceSession.create(modelPath, {
      executionProviders: ['cpu'],
      logSeverityLevel: 3,
      // The models are tiny; one thread each keeps a shared machine usable.
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
  } catch (e) {
    throw new CheckError(`${modelPath}: ONNX Runtime cannot load the model: ${e.message}`);
  }
  try {
    const lines = [];
    let ok = true;
    for (const set of fixture.sets) {
      const r = await checkSet(ort, session, set, modelPath, fixturePath, rtol, atol,
        fixture.check);
      ok = ok && r.ok;
      lines.push(...r.lines);
    }
    return { ok, lines, sets: fixture.sets.length };
  } finally {
    await session.release();
  }
}

function loadOrt() {
  try {
    return require(ORT_DIR);
  } catch (e) {
    return fail(`cannot load onnxruntime-node from ${ORT_DIR} (run scripts/deps.sh): ${e.message}`);
  }
}

// Parses a manifest into [{model, fixture, label, line}]; throws UsageError
// naming the line at fault.
function readManifest(file) {
  let text;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: ${e.message}`);
  }
  const entries = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (/^\s*(#|$)/.test(line)) return;
    const fields = line.includes('\t') ? line.split('\t') : line.trim().split(/ +/);
    if (fields.length < 2 || fields[0] === '' || fields[1] === '') {
      throw new UsageError(`${file}:${i + 1}: want MODEL.onnx FIXTURE.json [LABEL]`);
    }
    const label = fields.slice(2).join(' ').trim() || fields[0];
    entries.push({ model: fields[0], fixture: fields[1], label, line: i + 1 });
  });
  if (entries.length === 0) throw new UsageError(`${file}: no models listed`);
  return entries;
}

async function mainManifest(args) {
  let entries;
  try {
    entries = readManifest(args.manifest);
  } catch (e) {
    return fail(e.message);
  }
  const ort = loadOrt();
  const failed = [];
  for (const e of entries) {
    let r;
    try {
      r = await checkModel(ort, e.model, e.fixture, args);
    } catch (err) {
      if (!(err instanceof CheckError)) throw err;
      r = { ok: false, lines: [], error: err.message };
    }
    if (r.ok) {
      const sets = r.sets > 1 ? `, ${r.sets} input sets` : '';
      process.stdout.write(`ok ${e.label} (${r.lines.length} outputs checked${sets})\n`);
      continue;
    }
    failed.push(e.label);
    const why = r.error ?? 'outputs differ from PyTorch';
    process.stdout.write(`FAIL ${e.label}: ${why}\n` +
      [`    model ${e.model}, fixture ${e.fixture}`, ...r.lines.map((l) => `    ${l}`)].join('\n') + '\n');
  }
  const n = entries.length;
  process.stdout.write(`ortcheck: ${n} model${n === 1 ? '' : 's'}: ${n - failed.length} ok, ` +
    `${failed.length} failed${failed.length ? ': ' + failed.join(', ') : ''}\n`);
  process.exit(failed.length ? 1 : 0);
}

async function mainSingle(args) {
  const [modelPath, fixturePath] = args.files;
  try {
    readFixture(fixturePath);
  } catch (e) {
    if (e instanceof CheckError) fail(e.message);
    throw e;
  }
  if (!fs.existsSync(modelPath)) fail(`${modelPath}: no such file`);
  const ort = loadOrt();
  let r;
  try {
    r = await checkModel(ort, modelPath, fixturePath, args);
  } catch (e) {
    if (e instanceof CheckError) fail(e.message);
    throw e;
  }
  if (r.lines.length) process.stdout.write(r.lines.join('\n') + '\n');
  process.exit(r.ok ? 0 : 1);
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    fail(e.message);
  }
  if (args.manifest !== undefined) await mainManifest(args);
  else await mainSingle(args);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
