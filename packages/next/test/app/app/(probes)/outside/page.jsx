import { getGrayDecision } from '@graylane/next';

/** A server component outside the proxy's matcher. */
export default async function Outside() {
  const decision = await getGrayDecision();
  return <p id="server-version">{decision?.version ?? 'none'}</p>;
}
