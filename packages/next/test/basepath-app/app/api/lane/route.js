import { getGrayDecision } from '@graylane/next';

export const dynamic = 'force-dynamic';

export async function GET() {
  const decision = await getGrayDecision();
  return Response.json({ version: decision?.version ?? null, reason: decision?.reason ?? null });
}
