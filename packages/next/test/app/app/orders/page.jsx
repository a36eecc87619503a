import { unstable_cache } from 'next/cache';
import { getGrayVersion } from '@graylane/next';

const ordersFor = unstable_cache(async (version) => ({ version, orders: [] }), ['orders']);

export default async function Page() {
  const data = await ordersFor(await getGrayVersion()); // one cache entry per lane
  return <pre>{JSON.stringify(data)}</pre>;
}
