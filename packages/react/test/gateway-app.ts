/**
 * The React app of gateway-hydrate.test.ts, rendered by react-dom/server inside the asset-lane
 * gateway's `transformHtml` and hydrated by the same components in Chromium.
 */
import { createElement as h, type ReactNode } from 'react';
import { GrayProvider, useGrayVersion } from '@graylane/react';

export const OPTIONS = { versions: ['stable', 'beta', 'canary'], default: 'stable' };

/** The page's version, as text. */
export function Badge(): ReactNode {
  const version = useGrayVersion();
  return h('p', { id: 'version' }, version);
}

/** The body part of a page whose template (index.html) holds the head. */
export function App(props: { serverVersion?: string | undefined }): ReactNode {
  return h(GrayProvider, { options: OPTIONS, serverVersion: props.serverVersion }, h(Badge));
}

/** The whole document, head included, as an SSR app renders it: its own graylane-version meta. */
export function Document(props: { serverVersion?: string | undefined }): ReactNode {
  return h(GrayProvider, { options: OPTIONS, serverVersion: props.serverVersion }, h(DocumentBody));
}

function DocumentBody(): ReactNode {
  const version = useGrayVersion();
  return h(
    'html',
    { lang: 'en' },
    h(
      'head',
      null,
      h('title', null, 'gateway'),
      h('meta', { name: 'graylane-version', content: version }),
    ),
    h('body', null, h('p', { id: 'version' }, version)),
  );
}
