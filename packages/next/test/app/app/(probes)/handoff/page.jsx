import { createElement } from 'react';
import { grayMetadata } from '@graylane/next';
import { held } from '../../../lib/hold.js';
import HandOffProbe from './probe.jsx';

/**
 * Page shapes of the hand-off (review F9): `?echo=` puts markup in the body as a page that
 * echoes user content would; `?hoist=` renders a React `<meta name="graylane-version">`, which
 * React hoists into <head>; `?hold=` keeps this page's metadata (the deprecated `grayMetadata()`)
 * until the test releases it, so Next streams it into the body after the first chunk.
 */
export async function generateMetadata({ searchParams }) {
  const { hold } = await searchParams;
  if (!hold) return {};
  await held(hold);
  return { other: await grayMetadata() };
}

export default async function HandOff({ searchParams }) {
  const { echo, hoist } = await searchParams;
  return (
    <main>
      {hoist ? createElement('meta', { name: 'graylane-version', content: hoist }) : null}
      <div id="echo" dangerouslySetInnerHTML={{ __html: echo ?? '' }} />
      <HandOffProbe />
    </main>
  );
}
