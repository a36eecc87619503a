import { redirected } from '../../../../lib/redirected.js';

/** RDR-03: a route handler whose allowlisted call is redirected. */
export async function GET(request) {
  return Response.json(await redirected(Object.fromEntries(request.nextUrl.searchParams)));
}
