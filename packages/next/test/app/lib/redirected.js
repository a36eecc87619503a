import { createGrayFetch, getGrayVersion } from '@graylane/next';
import { createLane, withGray } from '@graylane/web';

/**
 * Test-only (RDR-03, review 172 D1): an allowlisted GET the downstream answers with `status` to
 * its own `/echo`, through `createGrayFetch` or `withGray` (`via`), given as a string, a URL or
 * a Request (`input`), on Next's own patched (deduplicating) fetch. What the final answer was.
 */
export async function redirected({ status, via, input }) {
  const downstream = process.env.GRAY_DOWNSTREAM;
  const allowHosts = [new URL(downstream).host];
  const to = `${downstream}/redirect?status=${Number(status)}&to=${encodeURIComponent(`${downstream}/echo`)}`;
  const grayFetch =
    via === 'withGray'
      ? withGray(fetch, { lane: createLane(await getGrayVersion(), { allowHosts }) })
      : createGrayFetch({ allowHosts });
  const res = await grayFetch(
    input === 'URL' ? new URL(to) : input === 'Request' ? new Request(to) : to,
  );
  const seen = await res.json();
  return { status: res.status, redirected: res.redirected, path: seen.path, marker: seen.marker };
}
