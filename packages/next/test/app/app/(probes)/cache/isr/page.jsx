// STK-06: an ISR page (Next sends `s-maxage=60, stale-while-revalidate=…`).
export const dynamic = 'force-static';
export const revalidate = 60;

export default function CacheIsr() {
  return <p id="cache">isr {new Date(0).toISOString()}</p>;
}
