# bench/lib.sh — bash helpers for lucent benchmarks (sourced, not run).
#
# Used by bench/script.  The helpers follow bench/run's (which keeps its own copies
# and does not source this file): same nginx set-up, same lucent start/stop
# contract checks, same wrk driver (bench/absolute.lua) and BENCH line parsing.
#
# The sourcing script sets, before calling anything here:
#   HERE      the bench/ directory (absolute.lua lives there)
#   LUCENT    absolute path of the lucent binary;  NGINX_BIN  the nginx binary
#   TMP       private temp dir (removed by cleanup unless BENCH_KEEP_TMP=1)
#   DURATION  wrk seconds per measured run;  WARMUP  wrk warm-up seconds per run
# and may set NGINX_EXTRA (text inserted into nginx's server block) before start_nginx.
# Every process started here is recorded in PIDS and stopped by cleanup (by PID only).

# shellcheck shell=bash disable=SC2034,SC1007,SC2153  # results go to the sourcing script; 'x= y=' clears

PIDS=()          # every background process we started
NGINX_PID=
NGINX_PORT=
LUCENT_PID=      # the lucent the lucent_* helpers act on (start_lucent sets these)
LUCENT_PORT=
LUCENT_ERR=      # its stderr file
NGINX_EXTRA=${NGINX_EXTRA:-}
ODD=()           # anything unexpected, repeated at the end

die() { echo "bench: $*" >&2; exit 2; }
odd() { ODD+=("$*"); echo "  !! $*"; }

# ---------------------------------------------------------------- cleanup
stop_pid() {     # stop_pid PID [signal]: signal, wait up to 5 s, then SIGKILL
    local pid=$1 sig=${2:-TERM} i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return; }
    kill -"$sig" "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "bench: pid $pid did not exit after SIG$sig within 5s; sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
}
cleanup() {
    local p c
    trap - EXIT INT TERM
    for p in "${PIDS[@]}"; do
        if [[ -n $NGINX_PID && $p == "$NGINX_PID" ]]; then
            # nginx master: TERM stops its workers too; KILL would orphan them
            local kids; kids=$(ps -o pid= --ppid "$p" 2>/dev/null)
            stop_pid "$p" TERM
            for c in $kids; do kill -0 "$c" 2>/dev/null && kill -KILL "$c" 2>/dev/null; done
        else
            stop_pid "$p" TERM
        fi
    done
    if [[ ${BENCH_KEEP_TMP:-0} == 1 ]]; then
        echo "bench: temp dir kept: $TMP" >&2
    else
        rm -rf "$TMP"
    fi
}

# ---------------------------------------------------------------- numbers
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
fmt() { awk -v x="$1" -v f="$2" 'BEGIN{ if (x == "") print "n/a"; else printf f, x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "" || b == "" || b + 0 == 0) print ""; else printf "%.4f", a / b }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN{ exit !(a != "" && a + 0 >= b + 0) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN{ exit !(a != "" && a + 0 < b + 0) }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN{ exit !(a != "" && a + 0 <= b + 0) }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END{ if (NR == 0) print ""; else if (NR % 2) print v[(NR+1)/2]; else printf "%.6f\n", (v[NR/2] + v[NR/2+1]) / 2 }'; }
kib_status() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null; }   # kib_status PID VmRSS
verdict() { if [[ $1 == 1 ]]; then echo PASS; else echo FAIL; fi; }

# ---------------------------------------------------------------- CPU accounting
# cpu_ticks CPU -> "BUSY TOTAL" (USER_HZ ticks, from /proc/stat)
cpu_ticks() { awk -v c="cpu$1" '$1 == c { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6 }' /proc/stat; }
pids_ticks() { local p s=0 t; for p in $1; do t=$(proc_ticks "$p"); s=$((s + ${t:-0})); done; echo "$s"; }   # pids_ticks "PID..."
# child_ticks: CPU time of this shell's finished (waited-for) children and their descendants
child_ticks() { awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$$/stat"; }
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }   # utime + stime, all threads
# bg_load SECS: how busy cores 0 and 1 are while nothing of ours is loaded -> BG_LINE, BG_MAX (%)
bg_load() {
    local a0 a1 b0 b1 x0 x1 y0 y1
    read -r a0 x0 <<<"$(cpu_ticks 0)"; read -r a1 x1 <<<"$(cpu_ticks 1)"
    sleep "$1"
    read -r b0 y0 <<<"$(cpu_ticks 0)"; read -r b1 y1 <<<"$(cpu_ticks 1)"
    BG_LINE=$(awk -v a0="$a0" -v b0="$b0" -v x0="$x0" -v y0="$y0" -v a1="$a1" -v b1="$b1" -v x1="$x1" -v y1="$y1" \
        'BEGIN{ p0 = (y0 > x0) ? 100 * (b0 - a0) / (y0 - x0) : 0; p1 = (y1 > x1) ? 100 * (b1 - a1) / (y1 - x1) : 0
                printf "core 0 %.0f%% busy, core 1 %.0f%% busy", p0, p1 }')
    BG_MAX=$(awk '{ m = 0; for (i = 1; i <= NF; i++) if ($i ~ /%$/) { v = $i; sub(/%/, "", v); if (v + 0 > m) m = v + 0 } print m }' <<<"$BG_LINE")
}

# ---------------------------------------------------------------- nginx
# start_nginx: 1 worker, pinned to core 1, docroot $TMP/www -> NGINX_PID, NGINX_PORT
start_nginx() {
    local ngx=$TMP/nginx try
    mkdir -p "$ngx/logs"
    for try in 1 2 3 4 5; do
        NGINX_PORT=$(free_port)
        cat > "$ngx/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 16384;
daemon off;
master_process on;
user root;
pid $ngx/nginx.pid;
error_log $ngx/logs/error.log warn;
events {
    worker_connections 4096;
    multi_accept on;
}
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    types { }
    default_type application/octet-stream;
    client_body_temp_path $ngx/client_body;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $TMP/www;
$NGINX_EXTRA
    }
}
EOF
        taskset -c 1 "$NGINX_BIN" -p "$ngx/" -e "$ngx/logs/error.log" -c "$ngx/nginx.conf" \
            >"$ngx/stdout" 2>"$ngx/stderr" &
        NGINX_PID=$!
        PIDS+=("$NGINX_PID")
        local i
        for ((i = 0; i < 50; i++)); do
            kill -0 "$NGINX_PID" 2>/dev/null || break
            if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$NGINX_PORT/"; then
                return 0
            fi
            sleep 0.1
        done
        echo "bench: nginx did not come up on port $NGINX_PORT (try $try):" >&2
        cat "$ngx/stderr" "$ngx/logs/error.log" 2>/dev/null | tail -5 >&2
        stop_pid "$NGINX_PID" TERM
    done
    die "could not start nginx"
}

nginx_pids() { echo "$NGINX_PID"; ps -o pid= --ppid "$NGINX_PID" 2>/dev/null; }   # master + workers

# ---------------------------------------------------------------- lucent
# start_lucent NAME CPULIST|"" ARGS...  -> LUCENT_PID, LUCENT_PORT, LUCENT_ERR (returns 1 on failure)
start_lucent() {
    local name=$1 cpu=$2; shift 2
    local err=$TMP/lucent-$name.stderr
    LUCENT_PID= LUCENT_PORT= LUCENT_ERR=$err
    if [[ -n $cpu ]]; then
        taskset -c "$cpu" "$LUCENT" "$@" -p 0 >/dev/null 2>"$err" &
    else
        "$LUCENT" "$@" -p 0 >/dev/null 2>"$err" &
    fi
    LUCENT_PID=$!
    PIDS+=("$LUCENT_PID")
    local i line
    for ((i = 0; i < 100; i++)); do
        line=$(grep -m1 -E '^lucent: listening on 127\.0\.0\.1:[0-9]+$' "$err" 2>/dev/null)
        if [[ -n $line ]]; then
            LUCENT_PORT=${line##*:}
            return 0
        fi
        kill -0 "$LUCENT_PID" 2>/dev/null || break
        sleep 0.1
    done
    local why="did not print 'lucent: listening on 127.0.0.1:PORT' within 10s"
    if ! kill -0 "$LUCENT_PID" 2>/dev/null; then
        wait "$LUCENT_PID" 2>/dev/null
        why="exited with status $? without printing 'lucent: listening on 127.0.0.1:PORT'"
    fi
    odd "lucent ($name: ${cpu:+taskset -c $cpu }lucent $* -p 0) $why; stderr: $(head -c 400 "$err" | tr '\n' '|')"
    stop_pid "$LUCENT_PID" TERM
    LUCENT_PID=
    return 1
}
stop_lucent() {  # stops LUCENT_PID; checks the shutdown contract (SIGTERM -> exit 0 within 5 s)
    [[ -n $LUCENT_PID ]] || return 0
    if ! kill -0 "$LUCENT_PID" 2>/dev/null; then
        wait "$LUCENT_PID" 2>/dev/null; local rc=$?
        odd "lucent (pid $LUCENT_PID) had already exited (status $rc) before it was stopped; stderr tail: $(tail -c 300 "$LUCENT_ERR" | tr '\n' '|')"
        LUCENT_PID=; return 0
    fi
    kill -TERM "$LUCENT_PID"
    local i
    for ((i = 0; i < 50; i++)); do kill -0 "$LUCENT_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$LUCENT_PID" 2>/dev/null; then
        odd "lucent did not exit within 5s of SIGTERM (contract: clean shutdown, exit 0); killed"
        kill -KILL "$LUCENT_PID" 2>/dev/null
    fi
    wait "$LUCENT_PID" 2>/dev/null; local rc=$?
    (( rc == 0 || rc == 137 )) || odd "lucent exited with status $rc after SIGTERM (contract: 0)"
    LUCENT_PID=
}
lucent_alive() {
    [[ -n $LUCENT_PID ]] && kill -0 "$LUCENT_PID" 2>/dev/null && return 0
    odd "lucent is not running (crashed?); stderr tail: $(tail -c 300 "$LUCENT_ERR" 2>/dev/null | tr '\n' '|')"
    return 1
}

# ---------------------------------------------------------------- wrk
# run_wrk TAG CONNS CPULIST|"" URL [ABS_TARGET]
#   -> W_RPS W_P50 W_P99 W_ERR W_REQS (W_RPS empty on failure).
# With ABS_TARGET wrk connects to URL (the proxy) and sends absolute-form requests for
# ABS_TARGET (bench/absolute.lua).  If W_CPU_PID is set (a process pinned to core 0),
# its CPU time during the measured run is taken too:
#   W_CPU (% of one core), W_CPU_US (CPU microseconds per request), W_OTHER0 (% of core 0
#   used by everything else; softirqs run in the process's context count as its own).
# If W_CORE1_PIDS is set too (the processes sharing core 1 with wrk, i.e. nginx's):
#   W_OTHER1 (% of core 1 used by anything but them and wrk).
run_wrk() {
    local tag=$1 c=$2 cpu=$3 url=$4 target=${5:-}
    local out=$TMP/wrk-${tag// /_}.txt pin=()
    [[ -n $cpu ]] && pin=(taskset -c "$cpu")
    W_RPS= W_P50= W_P99= W_ERR= W_REQS= W_CPU= W_CPU_US= W_OTHER0= W_OTHER1=
    if (( WARMUP > 0 )); then
        BENCH_TARGET=$target timeout $((WARMUP + 30)) "${pin[@]}" wrk -t1 -c"$c" -d"${WARMUP}s" \
            -s "$HERE/absolute.lua" "$url" >"$out.warmup" 2>&1
    fi
    local p0= p1= b0 t0 b1 t1 q0= q1= c0 c1 u0 u1
    if [[ -n ${W_CPU_PID:-} ]]; then
        p0=$(proc_ticks "$W_CPU_PID"); read -r b0 t0 <<<"$(cpu_ticks 0)"
        if [[ -n ${W_CORE1_PIDS:-} ]]; then
            q0=$(pids_ticks "$W_CORE1_PIDS"); c0=$(child_ticks); read -r u0 _ <<<"$(cpu_ticks 1)"
        fi
    fi
    BENCH_TARGET=$target timeout $((DURATION + 30)) "${pin[@]}" wrk -t1 -c"$c" -d"${DURATION}s" --latency \
        -s "$HERE/absolute.lua" "$url" >"$out" 2>&1
    local rc=$? line
    if [[ -n ${W_CPU_PID:-} ]]; then
        p1=$(proc_ticks "$W_CPU_PID"); read -r b1 t1 <<<"$(cpu_ticks 0)"
        if [[ -n $q0 ]]; then
            q1=$(pids_ticks "$W_CORE1_PIDS"); c1=$(child_ticks); read -r u1 _ <<<"$(cpu_ticks 1)"
        fi
    fi
    line=$(grep -m1 '^BENCH ' "$out")
    if (( rc != 0 )) || [[ -z $line ]]; then
        odd "wrk $tag failed (exit $rc): $(tail -c 300 "$out" | tr '\n' '|')"
        return 1
    fi
    local -A kv=()
    local f
    for f in $line; do [[ $f == *=* ]] && kv[${f%%=*}]=${f#*=}; done
    W_RPS=${kv[rps]} W_REQS=${kv[requests]}
    W_P50=${kv[p50_us]} W_P99=${kv[p99_us]}
    W_ERR=$(( kv[err_connect] + kv[err_read] + kv[err_write] + kv[err_status] + kv[err_timeout] ))
    if (( kv[requests] == 0 )); then
        odd "wrk $tag: 0 requests completed (errors: connect ${kv[err_connect]} read ${kv[err_read]} write ${kv[err_write]} status ${kv[err_status]} timeout ${kv[err_timeout]})"
        W_RPS=
        return 1
    fi
    if (( W_ERR > 0 )); then
        odd "wrk $tag: errors: connect ${kv[err_connect]} read ${kv[err_read]} write ${kv[err_write]} non-2xx ${kv[err_status]} timeout ${kv[err_timeout]} (of ${kv[requests]} requests)"
    fi
    if [[ -n $p0 && -n $p1 ]] && (( t1 > t0 )); then
        local hz; hz=$(getconf CLK_TCK)
        W_CPU=$(awk -v d=$((p1 - p0)) -v t=$((t1 - t0)) 'BEGIN{ printf "%.0f", 100 * d / t }')
        W_CPU_US=$(awk -v d=$((p1 - p0)) -v hz="$hz" -v n="$W_REQS" 'BEGIN{ printf "%.2f", d * 1e6 / hz / n }')
        W_OTHER0=$(awk -v d=$((p1 - p0)) -v b=$((b1 - b0)) -v t=$((t1 - t0)) 'BEGIN{ o = 100 * (b - d) / t; if (o < 0) o = 0; printf "%.0f", o }')
        if [[ -n $q1 ]]; then
            W_OTHER1=$(awk -v d=$((q1 - q0 + c1 - c0)) -v b=$((u1 - u0)) -v t=$((t1 - t0)) 'BEGIN{ o = 100 * (b - d) / t; if (o < 0) o = 0; printf "%.0f", o }')
        fi
    fi
    return 0
}
