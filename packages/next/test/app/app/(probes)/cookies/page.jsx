import { cookies } from 'next/headers';

/** A server component: what `cookies()` holds on this request, the proxy's cookies included. */
export default async function Cookies() {
  const jar = Object.fromEntries((await cookies()).getAll().map((c) => [c.name, c.value]));
  return <pre id="cookies">{JSON.stringify(jar)}</pre>;
}
