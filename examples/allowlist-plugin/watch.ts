/** Calls `onChange` (debounced) when a file is written, created or replaced (editors often rename over it). */
import { watch, type FSWatcher } from "node:fs";
import path from "node:path";

export function watchFile(file: string, onChange: () => void, debounceMs = 200): () => void {
  const base = path.basename(file);
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    // The folder, not the file: a watch on the file itself is lost when the file is replaced.
    watcher = watch(path.dirname(file), (_event, name) => {
      if (name !== null && name !== base) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    });
    watcher.on("error", () => watcher?.close());
    watcher.unref();
  } catch {
    // No watch (folder gone, no inotify left): changes are picked up on reload only.
  }
  return () => {
    clearTimeout(timer);
    watcher?.close();
  };
}
