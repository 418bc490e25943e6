/**
 * The cron triggers of wrangler.toml, run by the local stack as Cloudflare runs them: workerd
 * under Miniflare has no scheduler of its own. Fields are numbers or `*` (what this project's
 * triggers use); anything else is refused when the stack starts rather than silently never run.
 */
export function cronMatcher(expression: string): (at: Date) => boolean {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 || fields.some((f) => f !== "*" && !/^\d{1,2}$/.test(f)))
    throw new Error(`cron "${expression}": the local stack runs five fields of numbers or *`);
  const [minute, hour, day, month, weekday] = fields.map((f) => (f === "*" ? undefined : Number(f)));
  return (at) =>
    (minute === undefined || minute === at.getUTCMinutes()) &&
    (hour === undefined || hour === at.getUTCHours()) &&
    (day === undefined || day === at.getUTCDate()) &&
    (month === undefined || month === at.getUTCMonth() + 1) &&
    (weekday === undefined || weekday === at.getUTCDay());
}

/** Milliseconds from `now` to the start of the next UTC minute, when triggers fire. */
export const untilNextMinute = (now: number): number => 60_000 - (now % 60_000);
