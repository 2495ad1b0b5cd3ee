/**
 * How many worker threads this thread started while `run` ran: Node emits `worker` on `process`
 * for each Worker made here (Piscina makes its threads with it). Not /proc/self/status's Threads:
 * that counts the whole process, libuv's pool, V8's helpers and any other test's threads too.
 */
export async function workersStartedBy<T>(run: () => Promise<T>): Promise<{ started: number; value: T }> {
  let started = 0;
  const count = () => void started++;
  process.on('worker', count);
  try {
    const value = await run();
    await new Promise((r) => setImmediate(r)); // the event comes a tick after the Worker is made
    return { started, value };
  } finally {
    process.off('worker', count);
  }
}
