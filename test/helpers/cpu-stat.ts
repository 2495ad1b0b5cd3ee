/** utime+stime and cutime+cstime (seconds) of a /proc/<pid>/stat or /proc/thread-self/stat line; the command name may hold spaces and parentheses. */
export function statCpu(line: string, ticksPerSecond = 100): { own: number; children: number } {
  const f = line.slice(line.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
  const n = (i: number) => Number(f[i - 3]) / ticksPerSecond;
  return { own: n(14) + n(15), children: n(16) + n(17) };
}
