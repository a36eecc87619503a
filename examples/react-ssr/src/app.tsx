/**
 * The page. Each front-end build bakes its own label into `__BUILD__` (esbuild `define`), so the
 * page shows which build it is; `useGrayVersion()` shows the version the page runs on.
 */
import { useEffect, useState, type ReactNode } from 'react';
import { withGray } from '@graylane/browser';
import { GrayBranch, useGrayClient, useGrayVersion } from '@graylane/react';

declare const __BUILD__: string;

/** The build this bundle was made for (`stable` or `beta`). */
export const BUILD: string = __BUILD__;

export function App(): ReactNode {
  const version = useGrayVersion();
  const gray = useGrayClient();
  const [api, setApi] = useState('');

  useEffect(() => {
    // For automation: hydration is done once effects run.
    document.documentElement.dataset['hydrated'] = 'true';
  }, []);

  const callApi = async (): Promise<void> => {
    const res = await withGray(undefined, { client: gray })('/api/hello');
    setApi(await res.text());
  };
  // A QA lane switch moves the whole front end: persist the choice, then load that build.
  const switchTo = (v: string): void => {
    if (gray.setGrayVersion(v)) location.reload();
  };

  return (
    <main>
      <h1>graylane React SSR</h1>
      <p>
        Front-end build: <strong id="build">{BUILD}</strong> · version:{' '}
        <strong id="version">{version}</strong>
      </p>
      <GrayBranch
        branches={{
          beta: <p id="feature">New checkout (beta)</p>,
          stable: <p id="feature">Classic checkout</p>,
        }}
      />
      <p>
        <button id="call" type="button" onClick={() => void callApi()}>
          withGray(fetch) → /api/hello
        </button>
        <button id="use-stable" type="button" onClick={() => switchTo('stable')}>
          use stable
        </button>
        <button id="use-beta" type="button" onClick={() => switchTo('beta')}>
          use beta
        </button>
      </p>
      <pre id="api">{api}</pre>
    </main>
  );
}
