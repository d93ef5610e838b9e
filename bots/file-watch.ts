/**
 * Watching one file (config hot reload; `watchFile` for plugins). A watch on the file is lost when it
 * is replaced, so the folders that decide what its path resolves to (each symlink's and the real
 * file's) are watched instead; after their events the path is resolved again and an identity (real
 * path, device, inode, size, mtime) is compared, so other files in those folders fire nothing.
 */
import { lstatSync, readlinkSync, statSync, watch, type FSWatcher, type Stats } from "node:fs";
import path from "node:path";
import { checkTimerDelay } from "./config/units.ts";
import type { Logger } from "./logger.ts";

export interface WatchFileOptions {
  /** Quiet time after the last event before `onChange` runs, in ms (default 200): one save is several events. */
  debounceMs?: number;
  /** Gets a warning when a watch fails (it is set up again) or the file disappears. */
  logger?: Pick<Logger, "warn">;
}

/** While a folder cannot be watched, the file is checked this often instead. */
const RETRY_MS = 1_000;
/** As Linux's limit before ELOOP. */
const MAX_LINKS = 40;

const entry = (dir: string, name: string) => `${dir}\0${name}`;
const components = (p: string) => p.split(path.sep === "\\" ? /[\\/]/ : "/").filter((c) => c !== "" && c !== ".");

interface Resolution {
  /** The real path, or undefined when a component is missing (or the links loop). */
  real: string | undefined;
  /** The folders whose entries decide the resolution. */
  dirs: Set<string>;
  /** Their entries on the way (each symlink, the first missing component): an event there is worth waiting for. */
  onPath: Set<string>;
  /** The file's own entries (as named, and its real path): an event there is a change even if the identity is the same. */
  own: Set<string>;
}

/** Resolves `file` one component at a time (like the kernel), noting which folder entries it went through. */
function resolve(file: string): Resolution {
  const dirs = new Set<string>();
  const onPath = new Set<string>();
  const own = new Set<string>();
  const root = path.parse(file).root;
  let dir = root; // always a real folder
  let rest = components(file.slice(root.length));
  let given = rest.length; // the given path's components are the tail of `rest`
  let links = 0;
  while (rest.length > 0) {
    const name = rest.shift()!;
    const isGiven = rest.length < given;
    if (isGiven) given--;
    if (name === "..") {
      dir = path.dirname(dir);
      continue;
    }
    const here = entry(dir, name);
    if (isGiven && given === 0) own.add(here);
    const next = path.join(dir, name);
    let st: Stats | undefined;
    let target: string | undefined;
    try {
      st = lstatSync(next);
      if (st.isSymbolicLink() && ++links <= MAX_LINKS) target = readlinkSync(next);
    } catch {
      st = undefined;
    }
    if (target !== undefined) {
      dirs.add(dir);
      onPath.add(here);
      const targetRoot = path.parse(target).root;
      if (targetRoot) dir = targetRoot;
      rest = [...components(target.slice(targetRoot.length)), ...rest];
      continue;
    }
    if (!st || st.isSymbolicLink() || (rest.length > 0 && !st.isDirectory())) {
      dirs.add(dir);
      onPath.add(here);
      return { real: undefined, dirs, onPath, own };
    }
    dir = next;
  }
  dirs.add(path.dirname(dir));
  own.add(entry(path.dirname(dir), path.basename(dir)));
  return { real: dir, dirs, onPath, own };
}

/** "" when the file is missing. */
function identity(real: string | undefined): string {
  if (real === undefined) return "";
  try {
    const s = statSync(real);
    return `${real}\0${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return "";
  }
}

function inode(dir: string): number | undefined {
  try {
    return statSync(dir).ino;
  } catch {
    return undefined;
  }
}

/**
 * Calls `onChange` once per change (debounced): written in place, renamed over (an editor's save),
 * deleted or recreated, or a symlink on its path swapped (a Kubernetes ConfigMap update). Returns a
 * function that stops watching (safe to call twice). The watch never keeps the process alive.
 */
export function watchFile(file: string, onChange: () => void, options: WatchFileOptions = {}): () => void {
  const target = path.resolve(file);
  const debounceMs = options.debounceMs ?? 200;
  checkTimerDelay(debounceMs, "watchFile: debounceMs");
  const logger = options.logger;
  const watchers = new Map<string, { watcher: FSWatcher; ino: number | undefined }>();
  /** Per folder, the last failure logged: a failure that repeats is logged once. */
  const failures = new Map<string, string>();
  let resolution = resolve(target);
  let last: string;
  let ownEvent = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const fail = (dir: string, err: unknown, msg: string) => {
    const text = (err as Error).message;
    if (failures.get(dir) === text) return;
    failures.set(dir, text);
    logger?.warn({ file: target, dir, err: text }, msg);
  };

  /** `restart`: wait for quiet again; otherwise an event elsewhere in a busy folder could postpone the check forever. */
  const schedule = (delay: number, restart: boolean) => {
    if (stopped || (timer && !restart)) return;
    clearTimeout(timer);
    timer = setTimeout(check, delay);
    timer.unref();
  };

  const onEvent = (dir: string, name: string | null) => {
    const at = name === null ? undefined : entry(dir, name);
    if (at === undefined || resolution.own.has(at)) ownEvent = true;
    schedule(debounceMs, at === undefined || resolution.own.has(at) || resolution.onPath.has(at));
  };

  /** Watches exactly the folders of the current resolution; false when one could not be watched. */
  const arm = (): boolean => {
    for (const [dir, w] of watchers) {
      // A folder replaced by another of the same name keeps its path but not our watch.
      if (!resolution.dirs.has(dir) || inode(dir) !== w.ino) {
        w.watcher.close();
        watchers.delete(dir);
      }
    }
    for (const dir of failures.keys()) if (!resolution.dirs.has(dir)) failures.delete(dir);
    let ok = true;
    for (const dir of resolution.dirs) {
      if (watchers.has(dir)) continue;
      try {
        const ino = inode(dir);
        const watcher = watch(dir, (_event, name) => onEvent(dir, name));
        watcher.on("error", (err) => {
          watcher.close();
          if (watchers.get(dir)?.watcher === watcher) watchers.delete(dir);
          fail(dir, err, "file watch failed; watching again");
          schedule(debounceMs, true);
        });
        watcher.unref();
        watchers.set(dir, { watcher, ino });
      } catch (err) {
        ok = false;
        fail(dir, err, `cannot watch the folder; checking the file every ${RETRY_MS} ms until it can`);
      }
    }
    return ok;
  };

  function check() {
    timer = undefined;
    if (stopped) return;
    resolution = resolve(target);
    const armed = arm();
    const now = identity(resolution.real); // after arming: a change from here on is an event
    const changed = ownEvent || now !== last;
    if (now === "" && last !== "") logger?.warn({ file: target }, "watched file is gone; watching for it to come back");
    ownEvent = false;
    last = now;
    if (!armed) schedule(RETRY_MS, false);
    if (!changed) return;
    try {
      onChange();
    } catch (err) {
      logger?.warn({ file: target, err: (err as Error).message }, "file change handler failed");
    }
  }

  if (!arm()) schedule(RETRY_MS, false);
  last = identity(resolution.real);

  return () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    for (const { watcher } of watchers.values()) watcher.close();
    watchers.clear();
  };
}
