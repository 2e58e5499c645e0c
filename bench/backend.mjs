// The "typical devtest service" of the benchmark: a plain Node.js HTTP server.
import { createServer } from 'node:http';

const body = Buffer.from('hello from node\n');
createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('listening'));
