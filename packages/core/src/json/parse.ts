import { MAX_CONFIG_DEPTH } from '../limits.js';

/** A JSON value as graylane holds it: objects have a null prototype. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
/** A JSON object with a null prototype (safe to key by input). */
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Keys that could reach `Object.prototype` through careless code (CFG-06). */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** A JSON syntax or safety problem, with the JSON path and character offset. */
export class JsonError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Strict, bounded JSON parser: rejects duplicate keys (CFG-05) and prototype keys (CFG-06),
 * stops at `maxDepth` before recursing further (CFG-07). Objects get a null prototype.
 */
export function parseJson(text: string, maxDepth = MAX_CONFIG_DEPTH): JsonValue {
  const p = new Parser(text, maxDepth);
  p.ws();
  const value = p.value('$', 0);
  p.ws();
  if (p.i < text.length) p.fail('$', 'unexpected text after the JSON value');
  return value;
}

class Parser {
  i = 0;
  constructor(
    readonly s: string,
    readonly maxDepth: number,
  ) {}

  fail(path: string, what: string): never {
    throw new JsonError(path, `${what} at offset ${this.i}`);
  }

  ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else break;
    }
  }

  value(path: string, depth: number): JsonValue {
    const c = this.s[this.i];
    if (c === '{' || c === '[') {
      if (depth >= this.maxDepth) this.fail(path, `nesting deeper than ${this.maxDepth}`);
      return c === '{' ? this.object(path, depth + 1) : this.array(path, depth + 1);
    }
    if (c === '"') return this.string(path);
    if (c === 't') return this.literal('true', true, path);
    if (c === 'f') return this.literal('false', false, path);
    if (c === 'n') return this.literal('null', null, path);
    return this.number(path);
  }

  literal<T>(word: string, value: T, path: string): T {
    if (this.s.startsWith(word, this.i)) {
      this.i += word.length;
      return value;
    }
    return this.fail(path, 'invalid token');
  }

  object(path: string, depth: number): JsonObject {
    const out = Object.create(null) as JsonObject;
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      if (this.s[this.i] !== '"') this.fail(path, 'expected a string key');
      const key = this.string(path);
      const childPath = `${path}.${key}`;
      if (FORBIDDEN_KEYS.has(key)) this.fail(childPath, `forbidden key "${key}"`);
      if (Object.hasOwn(out, key)) this.fail(childPath, `duplicate key "${key}"`);
      this.ws();
      if (this.s[this.i] !== ':') this.fail(childPath, 'expected ":"');
      this.i++;
      this.ws();
      out[key] = this.value(childPath, depth);
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') this.fail(path, 'expected "," or "}"');
      this.ws();
    }
  }

  array(path: string, depth: number): JsonValue[] {
    const out: JsonValue[] = [];
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value(`${path}[${out.length}]`, depth));
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') this.fail(path, 'expected "," or "]"');
      this.ws();
    }
  }

  string(path: string): string {
    const s = this.s;
    const start = ++this.i;
    // Fast path: no escapes.
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x22) {
        const out = s.slice(start, this.i);
        this.i++;
        return out;
      }
      if (c === 0x5c) break;
      if (c < 0x20) this.fail(path, 'control character in string');
      this.i++;
    }
    let out = s.slice(start, this.i);
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x22) {
        this.i++;
        return out;
      }
      if (c < 0x20) this.fail(path, 'control character in string');
      if (c === 0x5c) {
        out += this.escape(path);
      } else {
        out += s[this.i];
        this.i++;
      }
    }
    return this.fail(path, 'unterminated string');
  }

  escape(path: string): string {
    const e = this.s[this.i + 1];
    this.i += 2;
    switch (e) {
      case '"':
        return '"';
      case '\\':
        return '\\';
      case '/':
        return '/';
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'u': {
        const hex = this.s.slice(this.i, this.i + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail(path, 'invalid \\u escape');
        this.i += 4;
        return String.fromCharCode(parseInt(hex, 16));
      }
      case undefined:
      default:
        return this.fail(path, 'invalid escape');
    }
  }

  number(path: string): number {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(
      this.s.slice(this.i, this.i + 400),
    );
    if (!m) return this.fail(path, 'invalid token');
    this.i += m[0].length;
    return Number(m[0]);
  }
}

/**
 * Copies a caller-supplied object into the same safe shape the parser produces, applying the same
 * key and depth checks. Cycles stop at the depth cap. Non-JSON values are rejected.
 */
export function toJsonValue(input: unknown, maxDepth = MAX_CONFIG_DEPTH): JsonValue {
  return copy(input, '$', 0, maxDepth);
}

function copy(v: unknown, path: string, depth: number, maxDepth: number): JsonValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') {
    return v;
  }
  if (typeof v !== 'object') throw new JsonError(path, `not a JSON value (${typeof v})`);
  if (depth >= maxDepth) throw new JsonError(path, `nesting deeper than ${maxDepth}`);
  if (Array.isArray(v)) return v.map((x, i) => copy(x, `${path}[${i}]`, depth + 1, maxDepth));
  const out = Object.create(null) as JsonObject;
  for (const key of Object.keys(v)) {
    const childPath = `${path}.${key}`;
    if (FORBIDDEN_KEYS.has(key)) throw new JsonError(childPath, `forbidden key "${key}"`);
    const child = (v as Record<string, unknown>)[key];
    if (child === undefined) continue;
    out[key] = copy(child, childPath, depth + 1, maxDepth);
  }
  return out;
}
