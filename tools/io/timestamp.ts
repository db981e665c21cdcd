// The one timestamp in generated file and folder names: local time as YYYYMMDD-HHMMSS (sorts by time, no separators a shell minds).
/** `date` (default now) as `YYYYMMDD-HHMMSS` in local time. */
export function timestamp(date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}
