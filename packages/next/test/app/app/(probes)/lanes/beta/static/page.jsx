// STK-06 (review 80 D1): the beta page of a lane rewrite (proxy.template.js), static.
export const dynamic = 'force-static';

export default function LaneStatic() {
  return <p id="lane-page">beta static</p>;
}
