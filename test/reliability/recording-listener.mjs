// The recording server's core, in plain JavaScript so that it also runs as its own process — inside a
// network namespace, with no TypeScript loader — where it stands for a host off this machine. Types are
// in recording-listener.d.mts; recording-server.ts is the API tests call.
//
// Run as a process: `node recording-listener.mjs '{"address":"169.254.1.2","rules":[…]}'`. It prints
// JSON lines on stdout: `{"listening":{"address","port"}}` once, then `{"connection":N,"data":"…"}`
// when connection N opens (data "") and for every chunk it receives (latin1), always before it answers
// that chunk. It exits when its stdin ends, so it never outlives the test that started it.
import { createServer } from 'node:net';
import { pathToFileURL } from 'node:url';

/** Answers with the first rule whose `when` starts the request line (or that has no `when`), else 404. */
export function cannedResponder(rules) {
  return (requestLine) =>
    rules.find((rule) => rule.when === undefined || requestLine.startsWith(rule.when))?.response ?? {
      status: 404,
    };
}

/**
 * A plain-TCP server that passes every byte it receives (a TLS ClientHello as much as an HTTP request)
 * to `record`, and answers each HTTP request with `respond`'s response, one per connection. `stop`
 * drops open connections and closes it.
 */
export function recordingListener(respond, record) {
  const sockets = new Set();
  let connections = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const connection = connections++;
    record(connection, '');
    let text = '';
    socket.on('data', (chunk) => {
      const data = chunk.toString('latin1');
      text += data;
      record(connection, data);
      // Not HTTP (a TLS ClientHello): answer as an HTTP server would, so the client fails at once.
      if (!/^[A-Z]/.test(text)) {
        socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
        return;
      }
      if (!text.includes('\r\n\r\n')) return;
      const { status, headers = {}, body = '' } = respond(text.slice(0, text.indexOf('\r\n')));
      const head = [
        `HTTP/1.1 ${status} X`,
        'connection: close',
        `content-length: ${Buffer.byteLength(body)}`,
      ];
      for (const [name, value] of Object.entries(headers)) head.push(`${name}: ${value}`);
      socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
    });
  });
  const stop = () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return { server, stop };
}

function runAsProcess() {
  const { address, rules } = JSON.parse(process.argv[2] ?? '{}');
  // Writes to a pipe are synchronous on Linux: a line is on its way before the answer that follows it.
  const emit = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
  const { server } = recordingListener(cannedResponder(rules), (connection, data) =>
    emit({ connection, data }),
  );
  server.listen(0, address, () => emit({ listening: { address, port: server.address().port } }));
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runAsProcess();
