import { redirected } from '../../../lib/redirected.js';

/** RDR-03: a server component whose allowlisted call is redirected. */
export default async function Page({ searchParams }) {
  return <pre id="redirected">{JSON.stringify(await redirected(await searchParams))}</pre>;
}
