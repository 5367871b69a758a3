#!/usr/bin/env node
// Runs an ONNX model in ONNX Runtime (npm onnxruntime-node) for quantgrid's C++ side.
// Protocol: exactly one JSON line on stdout ({"ok":true,...} or {"ok":false,"error":...});
// exit 0 on success, 2 on any failure. Diagnostics go to stderr only.
//   --mode info    --model M
//   --mode predict --model M --input X.f32 --shape N,C,H,W --batch B --output Y.f32 [--threads T]
//   --mode outputs --model M --input X.f32 --shape N,C,H,W --output-prefix P [--threads T]
//                  one run of all N rows; graph output i written raw to P<i> (float32 or uint8),
//                  reply {"ok":true,"outputs":[{"name","type","dims"}]} in the graph's output order
//   --mode latency --model M --input X.f32 --shape N,C,H,W --batch-sizes 1,64 --warmup W --runs R [--threads T]
//                  [--reference M2 --rounds K]  (M2 timed alternately with M in K rounds, same input)
//   --mode serve   --model M --input X.f32 --shape N,C,H,W [--threads T]
//                  one session kept open for a caller that alternates it with something else (LibTorch):
//                  first line {"ok":true,"ready":true,...}; then, per stdin line {"batch":B,"warmup":W,"runs":R},
//                  one line {"ok":true,"batch_size":B,"times_ms":[...]}; stdin closed: the session is released.
// X and Y are raw little-endian float32 (the hosts we run on are little-endian, so
// Float32Array views read and write them as is).
'use strict';

const fs = require('fs');
const path = require('path');

// stdout carries the one result line: keep stray console output (ours or a library's) off it.
console.log = console.info = console.error;

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    if (!key.startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument '${key}': expected --name value`);
    args[key.slice(2)] = argv[i + 1];
  }
  return args;
}

function need(args, name) {
  if (args[name] === undefined) throw new Error(`missing --${name} for --mode ${args.mode}`);
  return args[name];
}

function intArg(args, name, min, fallback) {
  const text = fallback !== undefined && args[name] === undefined ? String(fallback) : need(args, name);
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer >= ${min}, got '${text}'`);
  return value;
}

function intList(args, name) {
  const text = need(args, name);
  const values = text.split(',').map(Number);
  if (values.some((v) => !Number.isInteger(v) || v < 1)) throw new Error(`--${name} must be positive integers, got '${text}'`);
  return values;
}

function loadOrt() {
  const dir = process.env.QG_ORT_MODULES || path.resolve(__dirname, '../../deploy/ort/node_modules');
  try {
    const ort = require(path.join(dir, 'onnxruntime-node'));
    const version = require(path.join(dir, 'onnxruntime-node', 'package.json')).version;
    return { ort, version };
  } catch (e) {
    throw new Error(`cannot load onnxruntime-node from ${dir} (run deploy/setup.sh or set QG_ORT_MODULES): ${e.message}`);
  }
}

// Reads the --input file as float32 with --shape; returns the data and the per-row dims.
function readInput(args) {
  const file = need(args, 'input');
  const shape = intList(args, 'shape');
  const perRow = shape.slice(1).reduce((a, b) => a * b, 1);
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read input ${file}: ${e.message}`);
  }
  if (buf.length !== shape[0] * perRow * 4) {
    throw new Error(`input ${file} has ${buf.length} bytes, shape ${shape.join(',')} needs ${shape[0] * perRow * 4}`);
  }
  // Copy into an aligned buffer: small Buffers may sit at any offset in Node's pool.
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  return { data, rows: shape[0], rowDims: shape.slice(1), perRow };
}

// `optimizedOut`: where ONNX Runtime writes the graph it will run (after its
// fusions and the Casts it inserts), for tests that check what it made of ours.
async function openSession(ort, model, threads, optimizedOut) {
  if (!fs.existsSync(model)) throw new Error(`model not found: ${model}`);
  ort.env.logLevel = 'error';
  const options = {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  };
  if (optimizedOut !== undefined) options.optimizedModelFilePath = optimizedOut;
  try {
    return await ort.InferenceSession.create(model, options);
  } catch (e) {
    throw new Error(`cannot load model ${model}: ${e.message}`);
  }
}

async function predict(ort, session, input, { batch, output }) {
  const [inName] = session.inputNames;
  const [outName] = session.outputNames;
  let out = null;
  let cols = 0;
  let seconds = 0; // time inside session.run only, not loading or file I/O
  for (let row = 0; row < input.rows; row += batch) {
    const n = Math.min(batch, input.rows - row);
    const slice = input.data.slice(row * input.perRow, (row + n) * input.perRow);
    const feed = { [inName]: new ort.Tensor('float32', slice, [n, ...input.rowDims]) };
    const t0 = process.hrtime.bigint();
    const result = (await session.run(feed))[outName];
    seconds += Number(process.hrtime.bigint() - t0) / 1e9;
    if (result.type !== 'float32') throw new Error(`output ${outName} is ${result.type}, expected float32`);
    if (out === null) {
      cols = result.size / n;
      out = new Float32Array(input.rows * cols);
    }
    if (result.size !== n * cols) throw new Error(`output ${outName} has ${result.size} values for ${n} rows, expected ${n * cols}`);
    out.set(result.data, row * cols);
  }
  try {
    fs.writeFileSync(output, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
  } catch (e) {
    throw new Error(`cannot write output ${output}: ${e.message}`);
  }
  return { ok: true, rows: input.rows, cols, seconds };
}

// Every graph output of one run over all the input's rows (models exported
// with their quantized values as extra outputs: ExportQdqExposingInt8Values).
async function outputs(ort, session, input, { prefix }) {
  const feed = { [session.inputNames[0]]: new ort.Tensor('float32', input.data, [input.rows, ...input.rowDims]) };
  const result = await session.run(feed);
  const reply = [];
  session.outputNames.forEach((name, i) => {
    const t = result[name];
    if (t.type !== 'float32' && t.type !== 'uint8') throw new Error(`output ${name} is ${t.type}, expected float32 or uint8`);
    const data = t.data;
    try {
      fs.writeFileSync(prefix + i, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    } catch (e) {
      throw new Error(`cannot write output ${prefix + i}: ${e.message}`);
    }
    reply.push({ name, type: t.type, dims: t.dims });
  });
  return { ok: true, outputs: reply };
}

async function timeRuns(session, feed, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feed);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times;
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// With a reference session, each round times the reference, then the model,
// on the same input: a slow stretch of the machine hits both. round_ratios
// are reference / model round medians. Two sessions in one process each keep
// a thread pool that spins after a run; each timed block waits 20 ms for the
// other pool to fall asleep and runs 3 untimed calls first (measured: the
// FP16 graph, which ONNX Runtime runs as FP32, against its FP32 graph gave
// ratios of 1.00-1.07 with 5-7 ms medians back to back, 0.99-1.01 and
// 3.5-3.7 ms, as alone, this way).
async function latency(ort, session, input, { sizes, warmup, runs, reference, rounds }) {
  const report = [];
  for (const b of sizes) {
    const feed = feedOf(ort, session, input, b);
    const tensor = feed[session.inputNames[0]];
    for (let i = 0; i < warmup; i++) await session.run(feed);
    if (!reference) {
      report.push({ batch_size: b, times_ms: await timeRuns(session, feed, runs) });
      continue;
    }
    const refFeed = { [reference.inputNames[0]]: tensor };
    for (let i = 0; i < warmup; i++) await reference.run(refFeed);
    const perRound = Math.max(1, Math.ceil(runs / rounds));
    const settle = async (s, f) => {
      await new Promise((done) => setTimeout(done, 20));
      await timeRuns(s, f, 3);
    };
    const times = [], refTimes = [], ratios = [];
    for (let r = 0; r < rounds; r++) {
      await settle(reference, refFeed);
      const ref = await timeRuns(reference, refFeed, perRound);
      await settle(session, feed);
      const own = await timeRuns(session, feed, perRound);
      ratios.push(median(ref) / median(own));
      refTimes.push(...ref);
      times.push(...own);
    }
    report.push({ batch_size: b, times_ms: times, reference_times_ms: refTimes, round_ratios: ratios });
  }
  return { ok: true, latency: report };
}

// The first b images of the input as a feed; tiled when the file holds fewer.
function feedOf(ort, session, input, b) {
  const data = new Float32Array(b * input.perRow);
  for (let i = 0; i < b; i++) {
    const src = (i % input.rows) * input.perRow;
    data.set(input.data.subarray(src, src + input.perRow), i * input.perRow);
  }
  return { [session.inputNames[0]]: new ort.Tensor('float32', data, [b, ...input.rowDims]) };
}

// Serve mode: answers timing requests, one per stdin line, until stdin
// closes. A request's warm-up runs come first, as in latency mode; a bad
// request is answered with an error line and the session stays open.
async function serve(ort, session, input, version) {
  emit({ ok: true, ready: true, ort_version: version });
  const feeds = new Map();
  const lines = require('readline').createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    try {
      const req = JSON.parse(line);
      const int = (name, min) => {
        const v = req[name];
        if (!Number.isInteger(v) || v < min) throw new Error(`request field ${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
        return v;
      };
      const b = int('batch', 1), warmup = int('warmup', 0), runs = int('runs', 1);
      if (!feeds.has(b)) feeds.set(b, feedOf(ort, session, input, b));
      const feed = feeds.get(b);
      for (let i = 0; i < warmup; i++) await session.run(feed);
      emit({ ok: true, batch_size: b, times_ms: await timeRuns(session, feed, runs) });
    } catch (e) {
      emit({ ok: false, error: String(e && e.message ? e.message : e).replace(/\s*\n\s*/g, ' ') });
    }
  }
  return null;
}

async function main() {
  // Validate every argument and read the input before the (slow) model load.
  const args = parseArgs(process.argv.slice(2));
  const mode = args.mode;
  if (!['info', 'predict', 'outputs', 'latency', 'serve'].includes(mode)) {
    throw new Error(`--mode must be info, predict, outputs, latency or serve, got '${mode}'`);
  }
  const model = need(args, 'model');
  const threads = intArg(args, 'threads', 1, 1);
  let input = null;
  let opts = null;
  if (mode === 'predict') {
    opts = { batch: intArg(args, 'batch', 1), output: need(args, 'output') };
    input = readInput(args);
  } else if (mode === 'outputs') {
    opts = { prefix: need(args, 'output-prefix') };
    input = readInput(args);
  } else if (mode === 'latency') {
    opts = { sizes: intList(args, 'batch-sizes'), warmup: intArg(args, 'warmup', 0), runs: intArg(args, 'runs', 1),
             rounds: intArg(args, 'rounds', 1, 10) };
    input = readInput(args);
  } else if (mode === 'serve') {
    input = readInput(args);
  }

  const { ort, version } = loadOrt();
  const session = await openSession(ort, model, threads, args['optimized-out']);
  if (mode === 'latency' && args.reference !== undefined) opts.reference = await openSession(ort, args.reference, threads);
  try {
    if (mode === 'info') return { ok: true, ort_version: version, inputs: session.inputNames, outputs: session.outputNames };
    if (mode === 'predict') return await predict(ort, session, input, opts);
    if (mode === 'outputs') return await outputs(ort, session, input, opts);
    if (mode === 'serve') return await serve(ort, session, input, version);
    return { ...(await latency(ort, session, input, opts)), ort_version: version };
  } catch (e) {
    throw new Error(`running model ${model}: ${e.message}`);
  } finally {
    await session.release();
    if (opts && opts.reference) await opts.reference.release();
  }
}

main().then((reply) => reply && emit(reply), (e) => {
  emit({ ok: false, error: String(e && e.message ? e.message : e).replace(/\s*\n\s*/g, ' ') });
  process.exitCode = 2;
});
