// STK-06: an ISR route handler.
export const dynamic = 'force-static';
export const revalidate = 60;

export function GET() {
  return Response.json({ cache: 'isr' });
}
