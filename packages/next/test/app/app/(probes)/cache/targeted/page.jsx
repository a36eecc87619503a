// STK-06: a static page whose targeted cache-control fields come from next.config `headers()`.
export const dynamic = 'force-static';

export default function CacheTargeted() {
  return <p id="cache">targeted</p>;
}
