import { getGrayVersion } from '@graylane/next';

/**
 * A server component that reads the lane with getGrayVersion() and nothing else of the request:
 * no `dynamic` export, so `next build` learns the page is dynamic from getGrayVersion() itself
 * (it failed the build with NO_CONTEXT while prerendering when the read swallowed Next's signal).
 */
export default async function Strict() {
  return <p id="strict-version">{await getGrayVersion()}</p>;
}
