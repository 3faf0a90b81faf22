// A stand-in for the Hugging Face hub (no dependencies), for the browser tests: it serves
// the committed fixtures (core/tests/fixtures/hf/<family>/) in the hub's URL layout.
//   GET /api/models/fixtures/<repo>/tree/<rev>   JSON [{type:"file", oid, path, size, lfs?}]
//   GET /fixtures/<repo>/resolve/<rev>/<file>    the file, with Content-Length
//   GET /__requests                              the paths asked for so far (JSON), for tests
// Repositories (any revision): fixtures/<family> (config.json, tokenizer.json,
// model.safetensors), fixtures/<family>-sharded (the weights split into two shards plus a
// generated model.safetensors.index.json), fixtures/<family>-slow (the weights sent in
// 1 KiB pieces 40 ms apart, to test Cancel), fixtures/unsupported (llama with a
// `rope_scaling` the importer refuses).
// Usage: node scripts/hub-server.mjs [--fixtures DIR] [--host 127.0.0.1] [--port 0] [--url-file FILE]
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const root = path.resolve(opt('--fixtures', 'core/tests/fixtures/hf'));
const host = opt('--host', '127.0.0.1');
const port = Number(opt('--port', '0'));
const urlFile = opt('--url-file', null);
const MODEL_FILES = ['config.json', 'tokenizer.json', 'model.safetensors'];

/** Splits a safetensors file into two by tensor (first half of the names, the rest). */
export function splitSafetensors(bytes) {
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  const data = bytes.subarray(8 + n);
  const names = Object.keys(header).filter((k) => k !== '__metadata__').sort();
  const halves = [names.slice(0, Math.ceil(names.length / 2)), names.slice(Math.ceil(names.length / 2))];
  return halves.map((part) => {
    const head = {};
    const chunks = [];
    let offset = 0;
    for (const name of part) {
      const t = header[name];
      const [s, e] = t.data_offsets;
      head[name] = { ...t, data_offsets: [offset, offset + (e - s)] };
      chunks.push(data.subarray(s, e));
      offset += e - s;
    }
    let json = JSON.stringify(head);
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    return { names: part, bytes: Buffer.concat([len, Buffer.from(json), ...chunks]) };
  });
}

/** The files of one repository name, as { path: Buffer }, or null. */
function repoFiles(name) {
  const m = /^(unsupported|([a-z0-9_]+?)(-sharded|-slow)?)$/.exec(name);
  if (!m) return null;
  if (m[1] === 'unsupported') {
    const files = repoFiles('llama');
    const config = JSON.parse(files['config.json']);
    config.rope_scaling = { rope_type: 'llama3', factor: 8.0, original_max_position_embeddings: 64 };
    files['config.json'] = Buffer.from(JSON.stringify(config, null, 2));
    return files;
  }
  const dir = path.join(root, m[2]);
  if (!fs.existsSync(path.join(dir, 'config.json'))) return null;
  const files = Object.fromEntries(MODEL_FILES.map((f) => [f, fs.readFileSync(path.join(dir, f))]));
  if (m[3] === '-sharded') {
    const shards = splitSafetensors(files['model.safetensors']);
    delete files['model.safetensors'];
    const weightMap = {};
    shards.forEach((s, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      files[file] = s.bytes;
      for (const n of s.names) weightMap[n] = file;
    });
    const totalSize = shards.reduce((t, s) => t + s.bytes.length, 0);
    files['model.safetensors.index.json'] = Buffer.from(JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2));
  }
  return files;
}

const requests = [];
const LFS = (p) => p.endsWith('.safetensors');

const server = http.createServer(async (req, res) => {
  const headers = { 'access-control-allow-origin': '*', 'cache-control': 'no-cache' };
  let url;
  try {
    url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  } catch {
    res.writeHead(400, headers).end('bad request');
    return;
  }
  requests.push(url);
  if (url === '/__requests') {
    res.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(requests));
    return;
  }
  let m = /^\/api\/models\/fixtures\/([^/]+)\/tree\/(.+)$/.exec(url);
  const notFound = () => res.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end(`Repository or file not found: ${url}`);
  if (m) {
    const files = repoFiles(m[1]);
    if (!files) return notFound();
    const list = Object.entries(files).map(([p, b]) => {
      const oid = crypto.createHash('sha1').update(b).digest('hex');
      const entry = { type: 'file', oid, size: b.length, path: p };
      // LFS files: the entry's own size is its pointer's, as on the hub; lfs.size is the file's
      if (LFS(p)) Object.assign(entry, { size: 134, lfs: { oid: crypto.createHash('sha256').update(b).digest('hex'), size: b.length, pointerSize: 134 } });
      return entry;
    });
    res.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(list));
    return;
  }
  m = /^\/fixtures\/([^/]+)\/resolve\/[^/]+\/(.+)$/.exec(url);
  const files = m && repoFiles(m[1]);
  const body = files?.[m[2]];
  if (!body) return notFound();
  res.writeHead(200, { ...headers, 'content-type': 'application/octet-stream', 'content-length': body.length });
  if (m[1].endsWith('-slow') && LFS(m[2])) {
    for (let i = 0; i < body.length && !res.destroyed; i += 1024) {
      res.write(body.subarray(i, i + 1024));
      await new Promise((r) => setTimeout(r, 40));
    }
    res.end();
  } else {
    res.end(body);
  }
});

server.listen(port, host, () => {
  const a = server.address();
  const u = `http://${a.address}:${a.port}`;
  console.log(`hub-server: serving ${root} at ${u}`);
  if (urlFile) fs.writeFileSync(urlFile, u);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { server.closeAllConnections?.(); server.close(() => process.exit(0)); });
