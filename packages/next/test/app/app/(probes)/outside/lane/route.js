import { getGrayDecision } from '@graylane/next';

/** Outside the proxy's matcher: whatever decision header arrives here came from the client. */
export async function GET(request) {
  const decision = await getGrayDecision();
  return Response.json({
    version: decision?.version ?? null,
    marker: request.headers.get('x-gray-id'),
  });
}
