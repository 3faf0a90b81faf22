// A tiny static file server for dist/ (no dependencies).
// Usage: node scripts/static-server.mjs DIR [--host 127.0.0.1] [--port 8080] [--url-file FILE]
//        [--no-isolation]
// Port 0 picks a free port. Prints "serving DIR at URL" once listening; with --url-file it
// also writes the URL to FILE (the test script waits for that file).
// Every response carries Cross-Origin-Opener-Policy: same-origin and
// Cross-Origin-Embedder-Policy: require-corp, which make the page cross-origin isolated:
// only then may it share memory between workers, and the CPU engine run on threads
// (app/src/worker/threads.rs). --no-isolation leaves them out (the single-threaded engine).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const root = path.resolve(args[0] && !args[0].startsWith('--') ? args[0] : 'dist');
const host = opt('--host', '127.0.0.1');
const port = Number(opt('--port', '8080'));
const urlFile = opt('--url-file', null);
const isolation = args.includes('--no-isolation')
  ? {}
  : { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.safetensors': 'application/octet-stream',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
};

if (!fs.existsSync(path.join(root, 'index.html'))) {
  console.error(`static-server: ${root}/index.html not found (run trunk build first)`);
  process.exit(1);
}

const server = http.createServer((req, res) => {
  let rel;
  try {
    rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  } catch {
    res.writeHead(400).end('bad request');
    return;
  }
  let file = path.join(root, path.normalize(rel));
  if (!file.startsWith(root)) {
    res.writeHead(403).end('forbidden');
    return;
  }
  if (rel.endsWith('/')) file = path.join(file, 'index.html');
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${rel}`);
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': st.size,
      'cache-control': 'no-cache',
      ...isolation,
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    fs.createReadStream(file).pipe(res);
  });
});

server.listen(port, host, () => {
  const a = server.address();
  const url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/`;
  console.log(`serving ${root} at ${url}`);
  if (urlFile) fs.writeFileSync(urlFile, url);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
