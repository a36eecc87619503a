'use server';
import { headers } from 'next/headers';

/** GW-02: the query of the page the action was called from (its `Referer`), as entries. */
export async function refererQuery() {
  const referer = (await headers()).get('referer');
  return referer ? [...new URL(referer).searchParams] : null;
}
