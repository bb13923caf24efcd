/** `sandbox:/mnt/data/out/a.csv` -> `out/a.csv`; null for any other link. */
export function sandboxPath(href: string): string | null {
  const match = /^sandbox:(.*)$/i.exec(href.trim());
  if (!match) return null;
  let path = match[1] ?? '';
  try {
    path = decodeURIComponent(path);
  } catch {
    // Keep it as written.
  }
  path = path.replace(/^\/+/, '').replace(/^mnt\/data\//, '');
  return path || null;
}
