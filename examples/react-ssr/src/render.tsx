/** The server entry of one front-end build: render the page for the decided version. */
import { StrictMode } from 'react';
import { renderToString } from 'react-dom/server';
import { GrayProvider } from '@graylane/react';
import { App } from './app.js';
import { BROWSER_OPTIONS } from './gray.js';

/** Renders the app's markup for `version` (the request's decision, `getGrayVersion()`). */
export function render(version: string | undefined): string {
  return renderToString(
    <StrictMode>
      <GrayProvider options={BROWSER_OPTIONS} serverVersion={version}>
        <App />
      </GrayProvider>
    </StrictMode>,
  );
}
