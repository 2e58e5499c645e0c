import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

function stat(pid: number): { ppid: number; cpuSeconds: number } | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
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
  return processTree(root).reduce((sum, pid) => sum + (stat(pid)?.cpuSeconds ?? 0), 0);
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
