-- wrk script (wrk -s bench/wrk_report.lua): after wrk's usual report, one machine-readable line
--   WRK_JSON {...}
-- with the totals, the error counts by kind and the latency percentiles (microseconds), which the
-- bench/*.sh scripts collect. wrk counts a response with status >= 400 as a "status" error; 3xx
-- answers (the origin's /download redirect) are successes, as they should be here.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_JSON {\"requests\":%d,\"bytes\":%d,\"duration_us\":%d," ..
    "\"errors_connect\":%d,\"errors_read\":%d,\"errors_write\":%d,\"errors_status\":%d," ..
    "\"errors_timeout\":%d,\"lat_p50_us\":%d,\"lat_p90_us\":%d,\"lat_p99_us\":%d," ..
    "\"lat_max_us\":%d,\"lat_mean_us\":%.1f}\n",
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
