/** Pure: the JSON array an `ip -json` / `bridge -json` dump prints (empty output: none). */
export function parseJson<T>(s: string): T[] {
  const t = s.trim();
  return t ? (JSON.parse(t) as T[]) : [];
}
