'use client';
import { useEffect, useState } from 'react';
import { initGray, withGray } from '@graylane/browser';
import { readServerVersion } from '@graylane/next/client';
import { grayConfig } from '../lib/gray.js';
import { laneOfAction } from './actions.js';

export default function ClientProbe({ serverVersion }) {
  // The first client render shows what the server rendered: no flash, no hydration mismatch.
  const [client, setClient] = useState(serverVersion);
  const [meta, setMeta] = useState('');
  const [api, setApi] = useState('');
  const [action, setAction] = useState('');
  useEffect(() => {
    const gray = initGray({
      versions: grayConfig.versions,
      default: grayConfig.default,
      serverVersion: readServerVersion(),
    });
    setMeta(readServerVersion() ?? 'none');
    setClient(gray.getGrayVersion());
    withGray(fetch)('/api/lane')
      .then((r) => r.text())
      .then(setApi, (e) => setApi(`error ${e}`));
  }, []);
  return (
    <section>
      <p id="client-version">{client}</p>
      <p id="meta-version">{meta}</p>
      <pre id="api">{api}</pre>
      <button id="act" onClick={async () => setAction(await laneOfAction())}>
        action
      </button>
      <p id="action-version">{action}</p>
    </section>
  );
}
