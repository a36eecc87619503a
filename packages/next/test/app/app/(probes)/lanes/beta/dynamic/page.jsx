// STK-06 (review 80 D1): the beta page of a lane rewrite, rendered per request.
export const dynamic = 'force-dynamic';

export default function LaneDynamic() {
  return <p id="lane-page">beta dynamic</p>;
}
