import { release } from '../../../../lib/hold.js';

export const dynamic = 'force-dynamic';

/** Releases the metadata `?hold=<id>` kept back; `released: false` until it is being held. */
export function GET(request) {
  return Response.json({ released: release(new URL(request.url).searchParams.get('id')) });
}
