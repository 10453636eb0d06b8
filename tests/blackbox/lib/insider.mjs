// What an insider watches, for the insider tests (issue 20's
// insider-anonymity.test.mjs, and its sibling for consultation answers):
// every table with its rows' ids, xmin and xmax, /metrics less the
// pollers' own routes, and the service's log less the pollers' lines
// (told apart by request id "poll-…", never by counting lines).

/**
 * recorder(ctx, polled): ctx of useService; polled, a RegExp of the
 * /metrics lines of the routes the test itself polls (GET).
 */
export function insiderRecorder(ctx, polled) {
  const pid = process.pid;
  let pollSeq = 0;
  const pollId = () => `poll-${pid}-${++pollSeq}`;

  /**
   * Every table but the hold: each row with its xmin and xmax (ids are in
   * the row). The hold is held_acts and, for an act paid with a token, the
   * token's spent_tokens row, which holds nothing but the token's hash:
   * both say that something arrived, and when.
   */
  const HOLD = ['held_acts', 'spent_tokens'];
  let tablesSql;
  /** {tables: the lines of every other table, held, spent: the hold's counts}, in one query. */
  async function tablesNow() {
    if (!tablesSql) {
      const names = (await ctx.cluster.psql(`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' and table_name not in ('${HOLD.join("', '")}') order by 1`)).split('\n').filter(Boolean);
      tablesSql = names.map((t) => `select '${t}:' || count(*) || ':' || coalesce(md5(string_agg(x.r || '@' || x.xmin || '/' || x.xmax, ',' order by x.r)), '-') from (select t::text as r, t.xmin::text as xmin, t.xmax::text as xmax from ${t} t) x`)
        .concat(HOLD.map((t) => `select '~${t}:' || count(*) from ${t}`)).join(' union all ');
    }
    const lines = (await ctx.cluster.psql(tablesSql)).split('\n').sort();
    const n = (t) => Number(lines.find((l) => l.startsWith(`~${t}:`)).split(':')[1]);
    return { tables: lines.filter((l) => !l.startsWith('~')), held: n('held_acts'), spent: n('spent_tokens') };
  }

  async function metricsNow() {
    const r = await ctx.api.get('/metrics', { headers: { 'X-Request-Id': pollId() } });
    return r.text;
  }
  /** /metrics less the pollers' own routes and the gauges that move with them. */
  const metricLines = (text) => text.split('\n').filter((l) => l && !l.startsWith('#') && !polled.test(l) && !l.startsWith('yijian_http_request_duration_seconds') && !l.startsWith('yijian_db_pool_in_use') && !l.startsWith('yijian_db_pool_idle'));

  /**
   * The histogram's count and the sum of the per-route counters: both move
   * together for every request that is counted, neither for an anonymous one.
   */
  function histogramMatchesCounters(text) {
    const count = Number(text.match(/^yijian_http_request_duration_seconds_count (\d+)$/m)[1]);
    const sum = [...text.matchAll(/^yijian_http_requests_total\{[^}]*\} (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
    return { count, sum };
  }

  /** The service's log lines from index from on, less the pollers'. */
  const logSince = (from) => ctx.svc.logs.slice(from).filter((l) => !(l.json && String(l.json.request_id || '').startsWith(`poll-${pid}-`)));

  return { pollId, tablesNow, metricsNow, metricLines, histogramMatchesCounters, logSince };
}
