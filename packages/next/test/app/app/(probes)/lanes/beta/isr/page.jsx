// STK-06 (review 80 D1): the beta page of a lane rewrite (proxy.template.js), ISR.
export const dynamic = 'force-static';
export const revalidate = 60;

export default function LaneIsr() {
  return <p id="lane-page">beta isr</p>;
}
