import { getGrayDecision } from '@graylane/next';
import { servedBy } from '../lib/gray.js';
import ClientProbe from './client-probe.jsx';

export default async function Page() {
  const decision = await getGrayDecision();
  const version = decision?.version ?? 'none';
  return (
    <main>
      <p id="server-version">{version}</p>
      <p id="server-reason">{decision?.reason ?? 'none'}</p>
      <p id="served-by">{servedBy(version)}</p>
      <ClientProbe serverVersion={version} />
    </main>
  );
}
