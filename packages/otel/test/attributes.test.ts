import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import { RPCType, setRPCMetadata } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ATTR_GRAYLANE_REASON,
  ATTR_GRAYLANE_VERSION,
  getGrayAttributes,
  setGraySpanAttributes,
} from '../src/index.js';
import { useAlsContextManager } from './setup-context.js';

const teardown = useAlsContextManager();
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');
afterAll(async () => {
  await provider.shutdown();
  teardown();
});
beforeEach(() => exporter.reset());

const decision = { version: 'beta', reason: 'header' } as const;

describe('span attributes', () => {
  it('getGrayAttributes names the two attributes', () => {
    expect(getGrayAttributes(decision)).toEqual({
      'graylane.version': 'beta',
      'graylane.reason': 'header',
    });
    expect([ATTR_GRAYLANE_VERSION, ATTR_GRAYLANE_REASON]).toEqual([
      'graylane.version',
      'graylane.reason',
    ]);
  });

  it('sets the attributes on the active span and they reach the in-memory exporter', () => {
    tracer.startActiveSpan('GET /', (span) => {
      expect(setGraySpanAttributes(decision)).toBe(true);
      span.end();
    });
    const [exported] = exporter.getFinishedSpans();
    expect(exported?.attributes).toMatchObject({
      'graylane.version': 'beta',
      'graylane.reason': 'header',
    });
  });

  it('CTX-06 prefers the HTTP server span even when a framework span is active', () => {
    const server = tracer.startSpan('GET /users');
    const serverCtx = setRPCMetadata(trace.setSpan(ROOT_CONTEXT, server), {
      type: RPCType.HTTP,
      span: server,
    });
    context.with(serverCtx, () => {
      tracer.startActiveSpan('middleware - graylane', (mw) => {
        setGraySpanAttributes(decision);
        mw.end();
      });
    });
    server.end();
    const byName = Object.fromEntries(
      exporter.getFinishedSpans().map((s) => [s.name, s.attributes]),
    );
    expect(byName['GET /users']).toMatchObject({ 'graylane.version': 'beta' });
    expect(byName['middleware - graylane']).not.toHaveProperty('graylane.version');
  });

  it('returns false without a recording span, and never throws', () => {
    expect(setGraySpanAttributes(decision, ROOT_CONTEXT)).toBe(false);
    const broken = trace.setSpan(ROOT_CONTEXT, {
      isRecording: () => true,
      setAttributes: () => {
        throw new Error('boom');
      },
    } as never);
    expect(setGraySpanAttributes(decision, broken)).toBe(false);
  });
});
