// WebSocket echo and large-body backend for the benchmark.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const chunk = Buffer.alloc(64 * 1024, 'x');
const server = createServer((req, res) => {
  if (req.url?.startsWith('/download')) {
    let left = Number(new URL(req.url, 'http://x').searchParams.get('mb') ?? 64) * 16;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': left * chunk.length });
    const pump = () => {
      while (left > 0) {
        left--;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    return pump();
  }
  let bytes = 0;
  req.on('data', (c) => (bytes += c.length));
  req.on('end', () => res.end(JSON.stringify({ bytes })));
});
new WebSocketServer({ server }).on('connection', (ws) => ws.on('message', (m, binary) => ws.send(m, { binary })));
server.listen(Number(process.env.PORT), '127.0.0.1');
