// A bounded job pool for the suites that run one heavy child per job (callgrind).

/** Runs `jobs` (functions returning promises) `width` at a time; resolves with their results in order. */
export async function pool(jobs, width = 2) {
  const out = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return out;
}
