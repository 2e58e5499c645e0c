// A service for `register -- <command>` tests, configured by environment:
//   PORT         port to listen on (127.0.0.1)
//   LISTEN_AFTER ms to wait before listening (default 0)
//   HEALTHY_AFTER ms after listening before GET /health answers 200 instead of 503 (default 0)
//   EXIT_AFTER   exit on its own with EXIT_CODE this many ms after listening (default: never)
//   EXIT_EARLY   exit with EXIT_CODE this many ms after starting, without ever listening
//   EXIT_CODE    code for EXIT_AFTER, EXIT_EARLY and SIGTERM (default 0)
// Prints `listening <epoch ms>`, `healthy <epoch ms>`, `got SIGTERM` on stdout.
import { createServer } from 'node:http';

const env = (name, fallback) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const code = env('EXIT_CODE', 0);
let healthy = false;
const server = createServer((req, res) => {
  res.statusCode = req.url === '/health' && !healthy ? 503 : 200;
  res.end(healthy ? 'ok' : 'starting');
});
process.on('SIGTERM', () => {
  console.log('got SIGTERM');
  server.close();
  setTimeout(() => process.exit(code), 50);
});
const exitEarly = env('EXIT_EARLY', undefined);
if (exitEarly !== undefined) setTimeout(() => process.exit(code), exitEarly);
else setTimeout(() => {
  server.listen(env('PORT', 0), '127.0.0.1', () => {
    console.log(`listening ${Date.now()}`);
    setTimeout(() => {
      healthy = true;
      console.log(`healthy ${Date.now()}`);
    }, env('HEALTHY_AFTER', 0));
    const exitAfter = env('EXIT_AFTER', undefined);
    if (exitAfter !== undefined) setTimeout(() => process.exit(code), exitAfter);
  });
}, env('LISTEN_AFTER', 0));
