// Starts the Portkey AI gateway (pinned in package.json) for bench/run.sh on 127.0.0.1 only:
//   node bench/portkey/start.mjs --port=18704 --headless
// The gateway's server binds every interface (it passes no host to listen); this wrapper gives listen()
// the loopback address before the gateway's own module runs.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (port, host, ...rest) {
  return typeof port === 'number' && (host === undefined || typeof host === 'function')
    ? listen.call(this, port, '127.0.0.1', ...(host === undefined ? rest : [host, ...rest]))
    : listen.call(this, port, host, ...rest);
};

// Without this every streaming request fails with HTTP 500 "TypeError: immutable", on Node 18, 20, 22 and 24
// alike. @hono/node-server (1.19, the gateway's server) replaces the global Response with a lightweight one
// when the server starts; the gateway wraps a stream as `new Response(transformed, upstreamResponse)`, and the
// lightweight Response keeps the fetch response's own (immutable) Headers object instead of copying it, so the
// gateway's next headers.append throws. The platform's Response copies the headers, as the gateway expects:
// it is put back once the server has started (hono's listener still serves both kinds of Response).
const NativeResponse = globalThis.Response;
await import('@portkey-ai/gateway/build/start-server.js');
Object.defineProperty(globalThis, 'Response', { value: NativeResponse });
