'use client';
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { useState } from 'react';
import { refererQuery } from './actions.js';

/** GW-02: `useSearchParams()` (server-rendered, then the address bar), and a server action. */
export default function ClientSearch() {
  const [action, setAction] = useState('');
  return (
    <section>
      <pre id="client-search">{JSON.stringify([...useSearchParams()])}</pre>
      <button id="act" onClick={async () => setAction(JSON.stringify(await refererQuery()))}>
        action
      </button>
      <pre id="action-search">{action}</pre>
      <Link id="to-marker" href="/edge/search?a=2&gray=canary&x=2">
        marker link
      </Link>
    </section>
  );
}
