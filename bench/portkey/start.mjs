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

await import('@portkey-ai/gateway/build/start-server.js');
