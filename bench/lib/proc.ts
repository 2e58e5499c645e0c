import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

function stat(pid: number): { ppid: number; cpuSeconds: number; systemSeconds: number } | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    const systemSeconds = Number(fields[12]) / TICKS_PER_SECOND;
    return { ppid: Number(fields[1]), cpuSeconds: Number(fields[11]) / TICKS_PER_SECOND + systemSeconds, systemSeconds };
  } catch {
    return undefined;
  }
}

/** The pid and all its descendants (nginx workers, cluster workers). */
export function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const s = stat(pid);
    if (s) parents.set(pid, s.ppid);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

/** User + system CPU seconds of a process tree. */
export function cpuSeconds(root: number): number {
  return cpuTimes(root).total;
}

/** CPU seconds of a process tree: in all (user + system), and of that in the kernel (system calls, the TCP stack on loopback). */
export function cpuTimes(root: number): { total: number; system: number } {
  let total = 0;
  let system = 0;
  for (const pid of processTree(root)) {
    const s = stat(pid);
    total += s?.cpuSeconds ?? 0;
    system += s?.systemSeconds ?? 0;
  }
  return { total, system };
}

/** Resident memory of each process of a tree (root first), in MiB. */
export function processRssMiB(root: number): number[] {
  const rss: number[] = [];
  for (const pid of processTree(root)) {
    try {
      rss.push(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);
    } catch {
      // exited meanwhile
    }
  }
  return rss;
}

/** Resident memory of a process tree, in MiB. */
export function rssMiB(root: number): number {
  return processRssMiB(root).reduce((sum, mib) => sum + mib, 0);
}
