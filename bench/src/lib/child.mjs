// Child-process helpers: start a script with IPC, wait for its first message, ask and answer.
import { fork } from 'node:child_process';
import { once } from 'node:events';

/**
 * Forks `script` with `args` (under `execPath`, another Node binary, when given); resolves with
 * `{ child, first }` once it sends its first message.
 */
export async function forkReady(
  script,
  args = [],
  { execArgv = [], execPath, env, timeoutMs = 30_000 } = {},
) {
  const child = fork(script, args, {
    execArgv,
    execPath,
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const [first] = await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) => {
        throw new Error(`${script} ${args.join(' ')} exited with ${code} before it was ready`);
      }),
    ]);
    return { child, first };
  } finally {
    clearTimeout(timer);
  }
}

/** Sends `msg` and resolves with the child's next message. */
export async function ask(child, msg) {
  const reply = once(child, 'message');
  child.send(msg);
  const [answer] = await reply;
  return answer;
}

/** Asks the child to exit, and kills it if it has not after `graceMs`. */
export async function stopChild(child, graceMs = 3_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  // A child that sent its result and is exiting has a closing channel: the callback takes the
  // EPIPE that `send` would otherwise emit as an unhandled 'error' event.
  if (child.connected) child.send('exit', () => {});
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * The server side of a benchmark child: listens on 127.0.0.1:0 and reports `{ port }`, answers
 * `start` / `stop` with this process's own CPU µs between them (so CPU per request is the
 * server's alone), closes on `exit`, and exits when the parent goes away.
 */
export function serveCpuChild(server) {
  server.keepAliveTimeout = 60_000;
  let mark;
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', (msg) => {
    if (msg === 'start') {
      mark = process.cpuUsage();
      process.send({ started: true });
    } else if (msg === 'stop') {
      const d = process.cpuUsage(mark);
      process.send({ cpuUs: d.user + d.system });
    } else if (msg === 'exit') {
      server.closeAllConnections();
      server.close(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
}
