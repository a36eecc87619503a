import { cookies } from 'next/headers';

/** A route handler: what `cookies()` holds on this request, the proxy's cookies included. */
export async function GET() {
  const jar = Object.fromEntries((await cookies()).getAll().map((c) => [c.name, c.value]));
  return Response.json(jar);
}
