import { Suspense } from 'react';
import ClientSearch from './client-search.jsx';

/** GW-02: the query as a page reads it on the server (searchParams) and a client component. */
export default async function Page({ searchParams }) {
  const query = Object.entries(await searchParams).flatMap(([k, v]) =>
    Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]],
  );
  return (
    <main>
      <pre id="server-search">{JSON.stringify(query)}</pre>
      <Suspense>
        <ClientSearch />
      </Suspense>
    </main>
  );
}
