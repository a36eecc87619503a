// STK-06: a static route handler (prerendered at build).
export const dynamic = 'force-static';

export function GET() {
  return Response.json({ cache: 'static' });
}
