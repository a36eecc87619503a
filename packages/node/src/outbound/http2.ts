import { syncBuiltinESMExports } from 'node:module';
import { Duplex } from 'node:stream';
import type { Allowlist } from '@graylane/core';
import { packageRequire } from '../package-require.js';
import { judgedRequest } from './http2-request.js';
import { noteConnection } from './http2-target.js';
import { outboundState } from './state.js';

type Fn = (this: unknown, ...args: unknown[]) => unknown;

/** `ClientHttp2Session.prototype`: what the patch replaces (`emit` is inherited until then). */
interface SessionPrototype {
  request: Fn;
  emit: Fn;
}

interface Http2Module {
  connect(authority: string, options: object): { destroy(): void };
}
type ConnectFn = (this: unknown, ...args: unknown[]) => unknown;

/**
 * @internal Covers every `node:http2` client session — made before or after, through
 * `import http2 from 'node:http2'`, `import { connect }` or `require('http2')`, by the app or by
 * a library (grpc-js, http2-wrapper) — by wrapping `request()` on the sessions' prototype, so a
 * session shared by many requests judges each in the context of the code calling `request()`
 * (http2-request.ts). The prototype's `emit` is wrapped to know when a session is emitting an
 * event: a request made from a session's event runs in the session's context, not necessarily
 * its caller's. `http2.connect` is wrapped too, to see how each session made from then on is
 * connected (http2-target.ts `noteConnection`, CTX-13): a session made before, or through a
 * `connect` taken from the module before, is judged by its socket when `request()` is called,
 * as one other code connected (its options are gone). The sessions undici makes for its Clients
 * are left to graylane's undici listener and connection guard, which judge their requests once
 * (hop-connection.ts). Returns the undo:
 * what is still graylane's goes back, a wrapper another library put on top keeps working and ours
 * under it passes straight through (MISC-01). Nothing is patched when the prototype cannot be
 * found (a runtime without Node's http2).
 */
export function patchHttp2(allow: Allowlist | undefined): () => void {
  const proto = sessionPrototype();
  if (proto === undefined) return () => {};
  const undoConnect = patchConnect();
  const ownEmit = Object.prototype.hasOwnProperty.call(proto, 'emit');
  const original = { request: proto.request, emit: proto.emit };
  let active = true;
  let emitting = 0;
  const request: Fn = function graylaneHttp2Request(this: unknown, ...args: unknown[]) {
    if (!active || undiciSession(this)) return original.request.apply(this, args);
    return judgedRequest(this, args, original.request, allow, emitting > 0);
  };
  const emit: Fn = function graylaneHttp2Emit(this: unknown, ...args: unknown[]) {
    if (!active) return original.emit.apply(this, args);
    emitting++;
    try {
      return original.emit.apply(this, args);
    } finally {
      emitting--;
    }
  };
  proto.request = request;
  proto.emit = emit;
  return () => {
    active = false;
    undoConnect();
    if (proto.request === request) proto.request = original.request;
    if (proto.emit === emit) {
      if (ownEmit) proto.emit = original.emit;
      else delete (proto as Partial<SessionPrototype>).emit;
    }
  };
}

/**
 * A session undici made for one of its Clients, whose requests graylane's undici listener and
 * connection guard judge (hop-connection.ts): judged here too, each would be judged twice — the
 * marker undici's judgement added taken for the caller's, counted again.
 */
function undiciSession(session: unknown): boolean {
  return (
    typeof session === 'object' &&
    session !== null &&
    outboundState().connections?.sessions.has(session) === true
  );
}

/** Wraps `http2.connect` (the module's, and its ESM named export) to note each connection. */
function patchConnect(): () => void {
  try {
    const mod = packageRequire()('node:http2') as Record<string, unknown>;
    const original = mod.connect as ConnectFn;
    if (typeof original !== 'function') return () => {};
    let active = true;
    const connect: ConnectFn = function graylaneHttp2Connect(this: unknown, ...args: unknown[]) {
      const session = original.apply(this, args);
      if (active) noteConnection(session, args);
      return session;
    };
    mod.connect = connect;
    syncBuiltinESMExports();
    return () => {
      active = false;
      if (mod.connect === connect) mod.connect = original;
      syncBuiltinESMExports();
    };
  } catch {
    return () => {};
  }
}

/**
 * The prototype of Node's `ClientHttp2Session`, which `node:http2` does not export: read from a
 * session made on a stream that never connects (no socket, no DNS, nothing written anywhere),
 * destroyed at once.
 */
function sessionPrototype(): SessionPrototype | undefined {
  try {
    const load = packageRequire();
    const http2 = load('node:http2') as Http2Module;
    const idle = new Duplex({ read() {}, write: (_c, _e, done) => done() });
    (idle as { connecting?: boolean }).connecting = true;
    const session = http2.connect('http://graylane.invalid', { createConnection: () => idle });
    const proto = Object.getPrototypeOf(session) as SessionPrototype;
    session.destroy();
    idle.destroy();
    return typeof proto.request === 'function' && typeof proto.emit === 'function'
      ? proto
      : undefined;
  } catch {
    return undefined;
  }
}
