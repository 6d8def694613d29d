/**
 * `npm run web`: serves web/ (the browser demo) and onnxruntime-web's files
 * at /ort/ on http://localhost:PORT (default 8080). Also used by the
 * headless-Chromium test with extra folders mounted.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.json': 'application/json', '.bin': 'application/octet-stream' };

/** Starts a static server; `mounts` maps URL prefixes ('/ort/') to folders. Resolves once listening. */
export function serveStatic(mounts: Record<string, string>, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const prefix = Object.keys(mounts).sort((a, b) => b.length - a.length).find((p) => url.startsWith(p));
    const root = prefix === undefined ? undefined : mounts[prefix];
    const rel = prefix === undefined ? '' : url.slice(prefix.length);
    const file = root === undefined ? undefined : path.resolve(root, rel === '' || rel.endsWith('/') ? rel + 'index.html' : rel);
    // Nothing outside the mounted folder is served (no '..' escapes).
    if (file === undefined || !file.startsWith(path.resolve(root!) + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

export function webMounts(root = path.resolve(__dirname, '..')): Record<string, string> {
  return { '/': path.join(root, 'web'), '/ort/': path.join(root, 'node_modules', 'onnxruntime-web', 'dist') };
}

if (require.main === module) {
  const port = Number(process.env.PORT ?? 8080);
  void serveStatic(webMounts(), port).then(() => console.log(`resad web demo: http://localhost:${port}/ (Ctrl+C stops)`));
}
