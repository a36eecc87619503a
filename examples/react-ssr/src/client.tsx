/** The browser entry of one front-end build: hydrate the server's markup. */
import { StrictMode } from 'react';
import { hydrateRoot } from 'react-dom/client';
import { GrayProvider } from '@graylane/react';
import { App } from './app.js';
import { BROWSER_OPTIONS } from './gray.js';

const root = document.getElementById('root');
if (root) {
  hydrateRoot(
    root,
    // No serverVersion here: GrayProvider reads <meta name="graylane-version">, which the
    // asset-lane gateway injected with the version the server rendered for.
    <StrictMode>
      <GrayProvider options={BROWSER_OPTIONS}>
        <App />
      </GrayProvider>
    </StrictMode>,
    {
      // Production React reports hydration mismatches here (minified); say so plainly.
      onRecoverableError: (error) => console.error('[react-ssr] hydration error:', error),
    },
  );
}
