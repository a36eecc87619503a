// STK-06: a dynamic route handler that sets a shared-cache `Cache-Control` of its own.
export const dynamic = 'force-dynamic';

export function GET() {
  return new Response('public', {
    headers: { 'cache-control': 'public, max-age=600, s-maxage=600', 'content-type': 'text/plain' },
  });
}
