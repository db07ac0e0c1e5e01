// @ts-check
// Running functions later, or a few at a time.
// Pure: no DOM, so `deno test` imports it.

/**
 * Runs `tasks` (functions returning promises) with at most `limit` at once;
 * resolves to their results in the order of `tasks`, or rejects with the
 * first failure (tasks already started keep running).
 * @template T
 * @param {(() => Promise<T>)[]} tasks
 * @param {number} limit  At least 1.
 * @returns {Promise<T[]>}
 */
export async function pool(tasks, limit) {
  /** @type {T[]} */
  const results = new Array(tasks.length);
  let next = 0;
  const workers = Array.from(
    { length: Math.min(limit, tasks.length) },
    async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await /** @type {() => Promise<T>} */ (tasks[i])();
      }
    },
  );
  await Promise.all(workers);
  return results;
}

/**
 * A function that calls `fn` once calls have paused for `ms`, with the
 * arguments of the last call.
 * @template {unknown[]} A
 * @param {(...args: A) => void} fn
 * @param {number} ms
 * @returns {(...args: A) => void}
 */
export function debounce(fn, ms) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
