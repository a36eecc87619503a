// STK-06: a static page (prerendered at build; Next sends `s-maxage=31536000`).
export const dynamic = 'force-static';

export default function CacheStatic() {
  return <p id="cache">static</p>;
}
