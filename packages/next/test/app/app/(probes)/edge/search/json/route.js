/** GW-02: what a route handler reads of its URL, for any method (and the body it got). */
async function search(request) {
  return Response.json({
    method: request.method,
    url: request.url,
    search: request.nextUrl.search,
    body: await request.text(),
  });
}

export const GET = search;
export const POST = search;
export const PUT = search;
export const DELETE = search;
export const PATCH = search;
