import { getGrayDecision, getGrayVersion } from '@graylane/next';

/** The lane this request renders on; `strict` is getGrayVersion() (NO_CONTEXT off the lane). */
export async function Lane() {
  const decision = await getGrayDecision();
  let strict;
  try {
    strict = await getGrayVersion();
  } catch (err) {
    strict = err?.code ?? 'error';
  }
  return (
    <main>
      <p id="lane">{`${decision?.version ?? 'none'} ${decision?.reason ?? 'none'} ${strict}`}</p>
    </main>
  );
}
