// @vitest-environment happy-dom
/**
 * Hydration in happy-dom with the real react-dom/client, under StrictMode: the server's markup
 * hydrates without a mismatch, one client and one exposure per page, then the hooks follow the
 * client. A control case proves a real mismatch would be caught. (The real-browser proof is the
 * Chromium e2e in examples/react-ssr.)
 */
import { act, createElement as h, StrictMode, type ReactNode } from 'react';
import { hydrateRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GrayOptions } from '@graylane/browser';
import { GrayBranch, GrayProvider, useGrayClient, useGrayVersion } from '@graylane/react';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

/** What react-dom/server renders for App (asserted by ssr.test.ts's equivalent cases). */
const serverMarkup = (v: string, branch: string): string => `<main><b>${v}</b>${branch}</main>`;

function App(): ReactNode {
  const version = useGrayVersion();
  return h(
    'main',
    null,
    h('b', null, version),
    h(GrayBranch, {
      branches: { beta: h('em', null, 'new'), stable: h('span', null, 'old') },
      fallback: 'stable',
    }),
  );
}

let roots: Root[] = [];
let errors: unknown[][] = [];
let recoverable: unknown[] = [];

beforeEach(() => {
  errors = [];
  recoverable = [];
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void errors.push(args));
  for (const c of document.cookie.split(';')) {
    const name = c.split('=')[0]?.trim();
    if (name) document.cookie = `${name}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/`;
  }
  document.head.innerHTML = '';
  document.body.innerHTML = '';
  history.replaceState(null, '', '/');
});

afterEach(async () => {
  await act(async () => {
    for (const r of roots) r.unmount();
  });
  roots = [];
  vi.restoreAllMocks();
});

/** Puts the server's page in the document and hydrates it under StrictMode. */
async function hydrate(meta: string | undefined, markup: string, options: GrayOptions) {
  if (meta !== undefined)
    document.head.innerHTML = `<meta name="graylane-version" content="${meta}">`;
  const container = document.createElement('div');
  container.innerHTML = markup;
  document.body.append(container);
  await act(async () => {
    roots.push(
      hydrateRoot(container, h(StrictMode, null, h(GrayProvider, { options }, h(App))), {
        onRecoverableError: (e) => void recoverable.push(e),
      }),
    );
  });
  return container;
}

const hydrationComplaints = (): string[] =>
  [...errors.map((a) => a.map(String).join(' ')), ...recoverable.map(String)].filter((m) =>
    /hydrat|mismatch|did not match/i.test(m),
  );

describe('hydration (react-dom/client, StrictMode)', () => {
  it('the server markup hydrates with no mismatch; one client, one exposure; the cookie is the server’s to write', async () => {
    const exposures: string[] = [];
    let client: ReturnType<typeof useGrayClient> | undefined;
    const options: GrayOptions = {
      versions: ['stable', 'beta', 't1'],
      default: 'stable',
      onAssign: (v, reason) => void exposures.push(`${v}:${reason}`),
    };
    document.cookie = 'gray=stable; Path=/';
    const Probe = (): ReactNode => ((client = useGrayClient()), null);
    const container = await hydrate('beta', serverMarkup('beta', '<em>new</em>'), options);
    expect(hydrationComplaints()).toEqual([]);
    expect(errors).toEqual([]);
    expect(container.innerHTML).toBe(serverMarkup('beta', '<em>new</em>'));
    // StrictMode rendered and mounted twice: still one client, one exposure.
    expect(exposures).toEqual(['beta:server']);
    // The hand-off rules this page view only: the stored cookie is left as it was (STK-02).
    expect(document.cookie).toContain('gray=stable');

    // A second provider on the same page gets the same client.
    const other = document.createElement('div');
    document.body.append(other);
    await act(async () => {
      const { createRoot } = await import('react-dom/client');
      const root = createRoot(other);
      roots.push(root);
      root.render(h(StrictMode, null, h(GrayProvider, { options }, h(Probe))));
    });
    expect(client?.getGrayVersion()).toBe('beta');
    expect(exposures).toEqual(['beta:server']);

    // The hooks follow the client: a QA switch re-renders, once.
    await act(async () => void client?.setGrayVersion('stable'));
    expect(container.innerHTML).toBe(serverMarkup('stable', '<span>old</span>'));
    expect(exposures).toEqual(['beta:server', 'stable:manual']);
    expect(hydrationComplaints()).toEqual([]);
  });

  it('options made inline on every render (a new rules function each time): still one client, one exposure', async () => {
    const exposures: string[] = [];
    const Root = (): ReactNode => {
      const options: GrayOptions = {
        versions: ['stable', 'beta', 't5'],
        default: 'stable',
        rules: () => undefined,
        onAssign: (v) => void exposures.push(v),
      };
      return h(GrayProvider, { options }, h(App));
    };
    document.head.innerHTML = '<meta name="graylane-version" content="beta">';
    const container = document.createElement('div');
    container.innerHTML = serverMarkup('beta', '<em>new</em>');
    document.body.append(container);
    await act(async () => {
      roots.push(hydrateRoot(container, h(StrictMode, null, h(Root))));
    });
    await act(async () => {
      roots[0]?.render(h(StrictMode, null, h(Root)));
    });
    expect(hydrationComplaints()).toEqual([]);
    expect(exposures).toEqual(['beta']);
  });

  it('a QA override in the URL hydrates the server version first, then re-renders without a mismatch', async () => {
    history.replaceState(null, '', '/?gray=t2');
    const options: GrayOptions = {
      versions: ['stable', 'beta', 't2'],
      default: 'stable',
      override: true,
    };
    const container = await hydrate('beta', serverMarkup('beta', '<em>new</em>'), options);
    expect(hydrationComplaints()).toEqual([]);
    expect(container.innerHTML).toBe(serverMarkup('t2', '<span>old</span>'));
  });

  it('no meta and no serverVersion: the default is the server snapshot, as on the server', async () => {
    const options: GrayOptions = { versions: ['stable', 'beta', 't3'], default: 'stable' };
    const container = await hydrate(undefined, serverMarkup('stable', '<span>old</span>'), options);
    expect(hydrationComplaints()).toEqual([]);
    expect(container.innerHTML).toBe(serverMarkup('stable', '<span>old</span>'));
  });

  it('control: markup from another version than the page says IS reported (the check can fail)', async () => {
    const options: GrayOptions = { versions: ['stable', 'beta', 't4'], default: 'stable' };
    await hydrate('beta', serverMarkup('stable', '<span>old</span>'), options);
    expect(hydrationComplaints().length).toBeGreaterThan(0);
  });
});
