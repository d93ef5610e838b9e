/** The host's file watcher: edits, an editor's rename over the file, and swapped symlinks (a Kubernetes ConfigMap) all count. */
export { watchFile } from "roster-bot";
