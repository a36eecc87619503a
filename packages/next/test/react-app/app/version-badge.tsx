'use client';
import { useEffect, useState } from 'react';
import { useGrayClient, useGrayVersion } from '@graylane/react';

export function VersionBadge() {
  const version = useGrayVersion();
  const client = useGrayClient();
  const [hydrated, setHydrated] = useState('no');
  useEffect(() => setHydrated(`yes ${client.serverVersion ?? 'none'}`), [client]);
  return (
    <section>
      <p id="client-version">{version}</p>
      <p id="hydrated">{hydrated}</p>
    </section>
  );
}
