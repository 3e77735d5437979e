-- wrk script used by bench/run and bench/script.
--
-- Proxy mode: BENCH_TARGET=http://127.0.0.1:NGINXPORT/1k.bin
--   wrk connects to the address given on its command line (lucent) and sends
--   the absolute-form request  "GET http://127.0.0.1:NGINXPORT/1k.bin HTTP/1.1"
--   with "Host: 127.0.0.1:NGINXPORT".
-- Direct mode: BENCH_TARGET unset/empty -> wrk's ordinary origin-form request.
--
-- In both modes done() prints one machine-readable line:
--   BENCH requests=N duration_us=N rps=X bytes=N p50_us=N p99_us=N
--         err_connect=N err_read=N err_write=N err_status=N err_timeout=N
-- (err_status counts non-2xx/3xx responses.)

local target = os.getenv("BENCH_TARGET")

if target and target ~= "" then
   local authority = target:match("^%a[%w+.-]*://([^/?#]+)")
   if not authority then
      io.stderr:write("absolute.lua: bad BENCH_TARGET: " .. target .. "\n")
      os.exit(2)
   end
   -- wrk.init() builds the (static, pre-formatted) request with wrk.format()
   -- after this file is loaded, i.e. wrk.format(nil, target) with our Host.
   -- Setting wrk.path keeps the request static (no Lua call per request).
   wrk.method = "GET"
   wrk.path = target
   wrk.headers["Host"] = authority
end

if os.getenv("BENCH_DEBUG") then
   io.stderr:write("absolute.lua request:\n" .. wrk.format(nil, wrk.path))
end

function done(summary, latency, requests)
   local e = summary.errors
   local secs = summary.duration / 1e6
   local rps = 0
   if secs > 0 then rps = summary.requests / secs end
   io.write(string.format(
      "BENCH requests=%d duration_us=%d rps=%.2f bytes=%d p50_us=%d p99_us=%d " ..
      "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
      summary.requests, summary.duration, rps, summary.bytes,
      latency:percentile(50), latency:percentile(99),
      e.connect, e.read, e.write, e.status, e.timeout))
end
