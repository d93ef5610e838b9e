/** A process's memory and CPU time from /proc (Linux), for fault tests and benchmarks. */
import { readFileSync } from "node:fs";

/** VmRSS and VmHWM (peak) of a process, in MB. */
export function memoryOf(pid: number): { rssMb: number; hwmMb: number } {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(/(\d+) kB/.exec(text.split("\n").find((l) => l.startsWith(key)) ?? "")?.[1] ?? NaN);
  return { rssMb: kb("VmRSS:") / 1024, hwmMb: kb("VmHWM:") / 1024 };
}

/** CPU time (user + system) of a process so far, in ms; NaN when it cannot be read. */
export function cpuMsOf(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return NaN;
  }
}
