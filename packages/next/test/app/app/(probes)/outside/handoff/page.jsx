// The same page outside the proxy's matcher: no decision, so no hand-off of the server's.
export { default, generateMetadata } from '../../handoff/page.jsx';
