import { GrayBranch } from '@graylane/react';
import { tryGetGrayVersion } from '@graylane/next';
import { VersionBadge } from './version-badge';

// A server component: GrayBranch takes server-rendered elements as its branches.
export default async function Page() {
  return (
    <main>
      <p id="server-version">{(await tryGetGrayVersion()) ?? 'none'}</p>
      <VersionBadge />
      <GrayBranch
        branches={{ beta: <p id="branch">new checkout</p>, stable: <p id="branch">checkout</p> }}
      />
    </main>
  );
}
