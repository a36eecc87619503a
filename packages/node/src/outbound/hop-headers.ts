import {
  baggageMemberHeaders,
  DEFAULT_HEADER,
  DEFAULT_MARKER_KEY,
  isVersionLabel,
  readBaggageMember,
  setBaggageMember,
  stripBaggageMember,
} from '@graylane/core';
import type { HopPlan } from './plan.js';

/** Read/write access to one request's headers, whatever shape the client keeps them in. */
export interface HeaderOps {
  /** Every value of `name` (lower-case), in order; empty when absent. */
  values(name: string): string[];
  /** Replaces every `name` header by one with `value`. */
  set(name: string, value: string): void;
  remove(name: string): void;
}

/**
 * Applies the decision for one hop (RDR-01/02, OUT-01/02):
 * - allowed: the marker header and exactly one `gray` baggage member, other members kept; a
 *   `gray` member another OpenTelemetry propagator carries in a header of its own (see
 *   {@link memberHeaders}) says the decided version too, when there is one; a marker the caller
 *   set is theirs there (OUT-03): it is not touched, and a `gray` member beside it says what it
 *   says (see {@link alignMember});
 * - not allowed: neither the marker header nor any `gray` member, in `baggage` or in a header of
 *   its own, whoever put them there (I8). The caller's included: clients that rebuild a redirect
 *   hop from the previous hop's headers (superagent, node-fetch) hand graylane's own marker back
 *   as if the caller had set it, and OpenTelemetry's propagators copy the context baggage to
 *   every host (OTB-01).
 * With the member switched off (`markers: { baggage: false }`) graylane carries none, and every
 * hop, allowlisted or not, a caller-owned marker's too, loses the member under its default name
 * (`gray`, in every form): a later hop with default settings must not honour what this lane
 * ignored (OTB-02; the rule core's inbound normalisation follows for a carrier switched off).
 * With `add: false` only the removal half runs (where the context cannot be trusted to add a
 * version: see hop-guard.ts).
 */
export function applyHop(plan: HopPlan, allowed: boolean, ops: HeaderOps, add = true): void {
  const key = plan.baggageKey;
  if (key === false) dropMember(ops, DEFAULT_MARKER_KEY);
  if (allowed) {
    if (plan.callerOwns) {
      if (key !== false) alignMember(ops, plan.header, key);
      return;
    }
    if (!add) return;
    ops.set(plan.header, plan.version);
    if (key !== false) {
      ops.set('baggage', setBaggageMember(ops.values('baggage'), key, plan.version));
      setMemberHeaders(ops, key, plan.version);
    }
    return;
  }
  if (ops.values(plan.header).length > 0) ops.remove(plan.header);
  if (key !== false) dropMember(ops, key);
}

/**
 * On an allowlisted hop whose marker the caller set (OUT-03): a `key` member that says another
 * version than that marker — in `baggage` or a header of its own — is set to the marker's, so
 * the two never disagree. The mismatch comes from below graylane: OpenTelemetry's http
 * instrumentation replaces the `baggage` header `attachGray` wrote with the context's (`gray=
 * stable` from an extracted or OTel-only context), and `installGlobal` then sees attachGray's
 * `X-Gray-Id` as the caller's. Only a single marker that is a version label is followed; a
 * member graylane finds none of is not added.
 */
export function alignMember(ops: HeaderOps, header: string, key: string): void {
  const marker = ops.values(header);
  const version = marker.length === 1 ? marker[0]!.trim() : undefined;
  if (version === undefined || !isVersionLabel(version)) return;
  setMemberHeaders(ops, key, version);
  const values = ops.values('baggage');
  if (values.length === 0) return;
  const read = readBaggageMember(values.length === 1 ? values[0] : values, key);
  if (read.kind === 'absent' || (read.kind === 'value' && read.value === version)) return;
  ops.set('baggage', setBaggageMember(values, key, version));
}

/**
 * A hop made with no lane (`installGlobal({ allowHosts })`): a target they do not name loses the
 * marker header and every `gray` member, whoever put them there (I8); anything else is left as
 * written. `allowed` is asked only when the head holds something to remove. Names are the
 * defaults: with no lane there is no middleware's to read.
 */
export function cleanHop(ops: HeaderOps, allowed: () => boolean): void {
  const header = ops.values(DEFAULT_HEADER).length > 0;
  const [jaeger, ot] = memberHeaders(DEFAULT_MARKER_KEY);
  const member =
    ops.values(jaeger).length > 0 ||
    ops.values(ot).length > 0 ||
    ops.values('baggage').some((v) => v.includes(DEFAULT_MARKER_KEY) || v.includes('%'));
  if ((!header && !member) || allowed()) return;
  if (header) ops.remove(DEFAULT_HEADER);
  if (member) dropMember(ops, DEFAULT_MARKER_KEY);
}

/**
 * Removes every `key` member: from the `baggage` header(s), judged by the key OpenTelemetry
 * decodes (`%67ray` is `gray`; the header is dropped when nothing is left), and the headers other
 * OpenTelemetry propagators carry it in ({@link memberHeaders}).
 */
export function dropMember(ops: HeaderOps, key: string): void {
  for (const name of memberHeaders(key)) if (ops.values(name).length > 0) ops.remove(name);
  const values = ops.values('baggage');
  // A key is matched after percent-decoding: only a header with neither the key nor a `%` is
  // ruled out unread.
  if (!values.some((v) => v.includes(key) || v.includes('%'))) return;
  const { rest, removed } = stripBaggageMember(values, key);
  if (removed === 0) return;
  if (rest === undefined) ops.remove('baggage');
  else ops.set('baggage', rest);
}

/**
 * Where other OpenTelemetry propagators carry a `key` member (core's `baggageMemberHeaders`),
 * kept for the last key asked: hops ask for the same key again and again.
 */
export function memberHeaders(key: string): readonly [string, string] {
  if (key !== lastKey) {
    lastKey = key;
    lastNames = baggageMemberHeaders(key);
  }
  return lastNames;
}

let lastKey = DEFAULT_MARKER_KEY;
let lastNames = baggageMemberHeaders(DEFAULT_MARKER_KEY);

/**
 * On an allowlisted hop: a `key` member another propagator put in a header of its own says
 * `version` (a label, the same in both encodings). graylane adds none where there was none.
 */
export function setMemberHeaders(ops: HeaderOps, key: string, version: string): void {
  for (const name of memberHeaders(key)) {
    const values = ops.values(name);
    if (values.length > 0 && (values.length > 1 || values[0] !== version)) ops.set(name, version);
  }
}

/** Ops over a flat `[name, value, …]` list (undici), mutated in place. */
export function flatOps(list: unknown[]): HeaderOps {
  const isName = (i: number, name: string): boolean => {
    const n = list[i];
    return typeof n === 'string' && n.toLowerCase() === name;
  };
  const remove = (name: string): void => {
    for (let i = list.length - 2; i >= 0; i -= 2) if (isName(i, name)) list.splice(i, 2);
  };
  return {
    values(name) {
      const out: string[] = [];
      for (let i = 0; i + 1 < list.length; i += 2)
        if (isName(i, name)) {
          const v = list[i + 1];
          if (Array.isArray(v)) for (const x of v) out.push(String(x));
          else out.push(String(v));
        }
      return out;
    },
    set(name, value) {
      remove(name);
      list.push(name, value);
    },
    remove,
  };
}

/** Ops over a WHATWG `Headers` (a copy the caller never sees). */
export function headersOps(headers: Headers): HeaderOps {
  return {
    values: (name) => {
      const v = headers.get(name);
      return v === null ? [] : [v];
    },
    set: (name, value) => headers.set(name, value),
    remove: (name) => headers.delete(name),
  };
}

/** Ops over a plain header object with keys in any case (follow-redirects, axios plain objects). */
export function objectOps(headers: Record<string, unknown>): HeaderOps {
  const keys = (name: string): string[] =>
    Object.keys(headers).filter((k) => k.toLowerCase() === name);
  const remove = (name: string): void => {
    for (const k of keys(name)) delete headers[k];
  };
  return {
    values(name) {
      const out: string[] = [];
      for (const k of keys(name)) {
        const v = headers[k];
        if (Array.isArray(v)) for (const x of v) out.push(String(x));
        else if (v !== undefined && v !== null && v !== false) out.push(String(v));
      }
      return out;
    },
    set(name, value) {
      remove(name);
      headers[name] = value;
    },
    remove,
  };
}

/** The part of `http.ClientRequest` graylane touches. */
export interface ClientRequestLike {
  readonly headersSent: boolean;
  getHeader(name: string): number | string | readonly string[] | undefined;
  setHeader(name: string, value: string): unknown;
  removeHeader(name: string): void;
}

/** Ops over an `http.ClientRequest` whose head is not flushed yet. */
export function clientRequestOps(req: ClientRequestLike): HeaderOps {
  return {
    values(name) {
      const v = req.getHeader(name);
      if (v === undefined) return [];
      return Array.isArray(v) ? v.map(String) : [String(v)];
    },
    set: (name, value) => void req.setHeader(name, value),
    remove: (name) => req.removeHeader(name),
  };
}
