// A loopback target for outbound calls, in its own process so the caller's CPU is the caller's.
import http from 'node:http';

const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(req.headers['x-gray-id'] ?? '-');
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (msg) => {
  if (msg === 'exit') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
