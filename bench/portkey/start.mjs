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
// when its server starts (with Object.defineProperty, after this module's imports have run); the gateway wraps a
// stream as `new Response(transformed, upstreamResponse)`, and the lightweight Response keeps the fetch
// response's own (immutable) Headers object instead of copying it, so the gateway's next headers.append throws.
// The platform's Response copies the headers, as the gateway expects, so hono's replacement is refused here
// (its listener serves the platform's Responses too).
//
// The platform's Response is given one more duty: to keep the upstream Response it was built from until its
// own body has been read to the end or cancelled. Otherwise nothing refers to the upstream one while its body
// streams, and undici cancels the body of a collected Response ("Response object has been garbage collected"):
// under full-speed load that cut about 1 stream in 40 and failed requests with HTTP 500. This costs Portkey one
// TransformStream per streamed answer.
const NativeResponse = globalThis.Response;
const streaming = new Set();
class UpstreamKeepingResponse extends NativeResponse {
  constructor(body, init) {
    if (init instanceof NativeResponse && body instanceof ReadableStream) {
      const upstream = init;
      streaming.add(upstream);
      const done = () => streaming.delete(upstream);
      body = body.pipeThrough(new TransformStream({ flush: done, cancel: done }));
    }
    super(body, init);
  }
}
globalThis.Response = UpstreamKeepingResponse;
const defineProperty = Object.defineProperty;
Object.defineProperty = function (target, key, descriptor) {
  return target === globalThis && key === 'Response' ? target : defineProperty(target, key, descriptor);
};

await import('@portkey-ai/gateway/build/start-server.js');
