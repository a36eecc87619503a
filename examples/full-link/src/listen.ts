import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HOST, portEnvName } from './ports.js';

/** A port that was taken: carries the message the demo prints instead of a stack trace. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(
    readonly instance: string,
    readonly port: number,
    options?: ErrorOptions,
  ) {
    super(
      `port ${port} (${instance}) is already in use on ${HOST}.\n` +
        `  Stop whatever holds it (another demo still running?), or choose other ports:\n` +
        `    GRAYLANE_PORT_BASE=5100 npm start          # moves all seven ports (5100–5106)\n` +
        `    ${portEnvName(instance)}=${port + 1000} npm start   # moves only this one`,
      options,
    );
  }
}

/** Listens on 127.0.0.1; resolves with the bound port, rejects with {@link PortInUseError}. */
export function listen(server: Server, instance: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(explainListenError(err, instance, port));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, HOST);
  });
}

/** Turns `EADDRINUSE` into a {@link PortInUseError}; other errors pass through. */
export function explainListenError(err: unknown, instance: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EADDRINUSE' ? new PortInUseError(instance, port, { cause: err }) : err;
}

/** Closes a server, dropping idle keep-alive sockets so shutdown is immediate. */
export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
