'use client';
import { useEffect, useState } from 'react';
import { initGray } from '@graylane/browser';
import { readServerVersion } from '@graylane/next/client';
import { grayConfig } from '../../../lib/gray.js';

/** What `readServerVersion()` and the browser SDK's own hand-off read, side by side. */
export default function HandOffProbe() {
  const [read, setRead] = useState('');
  const readBoth = () => {
    const gray = initGray({ versions: grayConfig.versions, default: grayConfig.default });
    setRead(`${readServerVersion() ?? 'none'} ${gray.serverVersion ?? 'none'}`);
  };
  useEffect(readBoth, []);
  return (
    <section>
      <p id="handoff">{read}</p>
      <button id="reread" onClick={readBoth}>
        read again
      </button>
    </section>
  );
}
