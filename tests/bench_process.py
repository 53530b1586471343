#!/usr/bin/env python3
"""tests/bench_process.py: whole-process start-up benchmarks (`make bench`).

Each figure is the median wall time of a whole process (fork, exec, the
dynamic loader, the work, exit), measured beside its baseline in the same
run, runs alternating A, B, A, B so that load on the machine falls on both
alike. One JSON line per figure: the median wall time (and the lower
decile) and the median CPU time (user + system) of each side, each with its
ratio to the baseline:

  pkjwt-sign             vs  jose jws sig    (same claims, same P-256 key)
  pkjwt-keygen export    vs  jose jwk pub    (--format jwk, same key)
  pkjwt-token --cache    vs  pkjwt-sign      (a cache hit; the cache is filled
                                              once from the test endpoint)

and the token requests that the test endpoint counts per 1,000 starts of
pkjwt-token, one after another (as cron would start it), with a store
beside the same starts without one:

  --cache (file store)   vs  no store
  --store redis://...    vs  no store        (a redis-server of its own on
                                              127.0.0.1; left out without
                                              redis-server or hiredis)

BENCH_STARTS (1000) scales the starts down; the row gives "starts", and a
scaled row says so in "scaled" (its counts are per BENCH_STARTS starts: a
store's one request does not scale). The baseline is counted once for both.

The tools run as the real binaries in tools/.libs with LD_LIBRARY_PATH on
the build's .libs, not through libtool's wrapper scripts (a shell each).
A figure whose baseline or judge is missing is left out with a note on
stderr. Never a test: nothing is asserted.

Environment: top_builddir, top_srcdir (default .), PYTHON3 (an interpreter
with jwcrypto, for the JWK and the endpoint), JOSE_CLI, BENCH_RUNS (21),
BENCH_STARTS (1000), REDIS_SERVER (redis-server).
"""
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(os.environ.get("top_builddir", "."))
SRC = os.path.abspath(os.environ.get("top_srcdir", "."))
PY = os.environ.get("PYTHON3") or sys.executable
JOSE = os.environ.get("JOSE_CLI") or shutil.which("jose")
RUNS = int(os.environ.get("BENCH_RUNS", "21"))
STARTS = int(os.environ.get("BENCH_STARTS", "1000"))
ENV = dict(os.environ, LD_LIBRARY_PATH=os.path.join(BUILD, ".libs"))
for v in ("PKJWT_KEY", "PKJWT_CLIENT_ID", "PKJWT_SCOPE", "PKJWT_BASE_URL"):
    ENV.pop(v, None)


def tool(name):
    return os.path.join(BUILD, "tools", ".libs", name)


def note(msg):
    print("bench_process: " + msg, file=sys.stderr)


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_once(cmd):
    """(wall ms, CPU ms) of one whole process; raises when it fails."""
    c0 = cpu_children()
    t0 = time.perf_counter_ns()
    p = subprocess.run(cmd, env=ENV, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    t1 = time.perf_counter_ns()
    c1 = cpu_children()
    if p.returncode != 0 or not p.stdout:
        raise RuntimeError("%s: exit %d: %s" % (
            os.path.basename(cmd[0]), p.returncode,
            p.stderr.decode(errors="replace").strip()[:200]))
    return (t1 - t0) / 1e6, (c1 - c0) * 1e3


def figure(name, a_label, a_cmd, b_label, b_cmd):
    try:
        for _ in range(2):  # warm the page cache for both sides
            run_once(a_cmd)
            run_once(b_cmd)
        a, b, ca, cb = [], [], [], []
        for _ in range(RUNS):
            for wall, cpu, cmd in ((a, ca, a_cmd), (b, cb, b_cmd)):
                w, c = run_once(cmd)
                wall.append(w)
                cpu.append(c)
    except (RuntimeError, OSError) as e:
        note("%s left out: %s" % (name, e))
        return
    ma, mb = statistics.median(a), statistics.median(b)
    # The lower decile too: on a busy machine preemption only adds time,
    # so it is the undisturbed cost (as tests/bench_sign.c reports).
    pa, pb = sorted(a)[len(a) // 10], sorted(b)[len(b) // 10]
    # CPU time (user + system) of the process: what it costs whatever else
    # runs on the machine.
    ua, ub = statistics.median(ca), statistics.median(cb)
    print(json.dumps({
        "bench": "process", "figure": name, "runs": RUNS,
        "cmd": a_label, "median_ms": round(ma, 2),
        "baseline": b_label, "baseline_median_ms": round(mb, 2),
        "ratio": round(ma / mb, 3), "p10_ms": round(pa, 2),
        "baseline_p10_ms": round(pb, 2), "p10_ratio": round(pa / pb, 3),
        "cpu_ms": round(ua, 2), "baseline_cpu_ms": round(ub, 2),
        "cpu_ratio": round(ua / ub, 3) if ub else None},
        separators=(",", ":")), flush=True)


def start_endpoint(tmp, client_id, scope, cert_b64, max_seconds=120):
    port_file = os.path.join(tmp, "port")
    if os.path.exists(port_file):
        os.unlink(port_file)
    log = open(os.path.join(tmp, "endpoint.log"), "ab")
    p = subprocess.Popen(
        [PY, os.path.join(SRC, "tests", "endpoint", "puzzel_endpoint.py"),
         "--port-file", port_file, "--max-seconds", str(max_seconds),
         "--client", "%s:%s:%s" % (client_id, scope, cert_b64)],
        stdout=subprocess.DEVNULL, stderr=log)
    for _ in range(300):
        if os.path.exists(port_file) and os.path.getsize(port_file) > 0:
            with open(port_file) as f:
                return p, int(f.read().strip())
        if p.poll() is not None:
            break
        time.sleep(0.1)
    p.kill()
    p.wait()
    return None, None


def endpoint_call(port, what, body=None):
    """GET /_test/stats, or POST /_test/WHAT; the answer's JSON."""
    import urllib.request
    url = "http://127.0.0.1:%d/_test/%s" % (port, what)
    req = urllib.request.Request(url, body.encode(), {
        "Content-Type": "application/json"}) if body is not None else url
    with urllib.request.urlopen(req, timeout=20) as r:
        return json.load(r)


def start_redis(tmp):
    """A redis-server of its own on a free 127.0.0.1 port: (process, URL),
    or (None, why)."""
    server = shutil.which(os.environ.get("REDIS_SERVER") or "redis-server")
    if not server:
        return None, "no redis-server"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--dir", tmp],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), 1) as c:
                c.sendall(b"PING\r\n")
                if c.recv(16).startswith(b"+PONG"):
                    return p, "redis://127.0.0.1:%d" % port
        except OSError:
            pass
        if p.poll() is not None:
            break
        time.sleep(0.1)
    p.kill()
    p.wait()
    return None, "redis-server did not start"


def count_requests(port, cmd):
    """Token requests the endpoint counts for STARTS runs of cmd, one after
    another; raises when a run fails."""
    endpoint_call(port, "reset", "{}")
    for _ in range(STARTS):
        run_once(cmd)
    return endpoint_call(port, "stats")["token_requests"]


def requests_per_starts(port, name, cmd, label, baseline):
    """One JSON line: the requests of STARTS runs of cmd beside baseline's
    (the same runs without a store)."""
    try:
        n = count_requests(port, cmd)
    except (RuntimeError, OSError, ValueError) as e:
        note("%s left out: %s" % (name, e))
        return
    row = {"bench": "process", "figure": name, "starts": STARTS,
           "cmd": label, "requests": n,
           "baseline": "pkjwt-token (no store)", "baseline_requests": baseline}
    if STARTS != 1000:
        row["scaled"] = "BENCH_STARTS=%d: requests per %d starts, not per " \
            "1000 (a store's count does not scale)" % (STARTS, STARTS)
    print(json.dumps(row, separators=(",", ":")), flush=True)


def store_requests(tmp, base, client_id, scope, b64):
    """The requests-per-1,000-starts figures, on an endpoint of their own
    (one that lives long enough for the starts without a store)."""
    endpoint, port = start_endpoint(tmp, client_id, scope, b64,
                                    max_seconds=60 + STARTS)
    if not endpoint:
        note("the test endpoint did not start: the requests per start "
             "figures are left out")
        return
    redis = None
    try:
        plain = base + ["--base-url", "http://127.0.0.1:%d" % port]
        ENV["XDG_CACHE_HOME"] = os.path.join(tmp, "cache-starts")
        try:
            baseline = count_requests(port, plain)
        except (RuntimeError, OSError, ValueError) as e:
            note("requests per start figures left out: %s" % e)
            return
        requests_per_starts(port, "token-requests-per-1000-starts-file",
                            plain + ["--cache"], "pkjwt-token --cache",
                            baseline)
        version = subprocess.run([tool("pkjwt-token"), "--version"], env=ENV,
                                 stdout=subprocess.PIPE).stdout.decode()
        if " redis" not in version:
            note("this build has no Redis store: the Redis requests per "
                 "start figure is left out")
            return
        redis, url = start_redis(tmp)
        if not redis:
            note("%s: the Redis requests per start figure is left out" % url)
            return
        requests_per_starts(port, "token-requests-per-1000-starts-redis",
                            plain + ["--store", url],
                            "pkjwt-token --store redis://", baseline)
    finally:
        endpoint.terminate()
        endpoint.wait()
        if redis:
            redis.terminate()
            redis.wait()


def main():
    for t in ("pkjwt-sign", "pkjwt-keygen", "pkjwt-token"):
        if not os.access(tool(t), os.X_OK):
            note("%s not built in tools/.libs (a shared build is needed)" % t)
            return 1
    tmp = tempfile.mkdtemp(prefix="pkjwt-bench-")
    endpoint = None
    try:
        key = os.path.join(tmp, "k.pem")
        cert = os.path.join(tmp, "k.crt")
        subprocess.run([tool("pkjwt-keygen"), "new", "--type", "ec",
                        "--out", key, "--cert", cert, "--subject", "CN=bench", "--quiet"],
                       env=ENV, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        aud = "https://app.puzzel.com/id/connect/token"
        client_id = "2f3c8e4a-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
        sign = [tool("pkjwt-sign"), "--key", key, "--client-id", client_id,
                "--aud", aud]

        # The same key as a private JWK, and the claims pkjwt-sign signs.
        jwk_file = os.path.join(tmp, "k.jwk")
        have_jwk = subprocess.run(
            [PY, "-c", "import sys; from jwcrypto import jwk; "
             "print(jwk.JWK.from_pem(open(sys.argv[1], 'rb').read())"
             ".export_private())", key],
            stdout=open(jwk_file, "w"), stderr=subprocess.DEVNULL
        ).returncode == 0
        if not JOSE:
            note("no jose CLI: the jose figures are left out")
        elif not have_jwk:
            note("%s lacks jwcrypto: the jose figures are left out" % PY)
        else:
            one = subprocess.run(sign, env=ENV, check=True,
                                 stdout=subprocess.PIPE).stdout.decode()
            dec = json.loads(subprocess.run(
                [tool("pkjwt-sign"), "decode", "--assertion", "-", "--json"],
                input=one.encode(), env=ENV, check=True,
                stdout=subprocess.PIPE).stdout)
            claims = os.path.join(tmp, "claims.json")
            with open(claims, "w") as f:
                json.dump(dec["claims"], f, separators=(",", ":"))
            sig = json.dumps({"protected": dec["header"]})
            figure("sign", "pkjwt-sign", sign, "jose jws sig",
                   [JOSE, "jws", "sig", "-I", claims, "-k", jwk_file,
                    "-s", sig, "-c"])
            figure("jwk", "pkjwt-keygen export --format jwk",
                   [tool("pkjwt-keygen"), "export", "--format", "jwk",
                    "--key", key],
                   "jose jwk pub", [JOSE, "jwk", "pub", "-i", jwk_file])

        # pkjwt-token --cache on a hit: fill the cache once from the endpoint.
        b64 = os.path.join(tmp, "k.b64")
        with open(b64, "w") as f:
            subprocess.run([tool("pkjwt-keygen"), "export", "--format",
                            "base64-cert", "--cert", cert], env=ENV,
                           check=True, stdout=f)
        scope = "contact-centre:1234:5678"
        endpoint, port = start_endpoint(tmp, client_id, scope, b64)
        if not endpoint:
            note("the test endpoint did not start (needs %s with jwcrypto): "
                 "the token figure is left out" % PY)
            return 0
        ENV["XDG_CACHE_HOME"] = os.path.join(tmp, "cache")
        token = [tool("pkjwt-token"), "--key", key, "--client-id", client_id,
                 "--scope", scope, "--base-url",
                 "http://127.0.0.1:%d" % port, "--cache"]
        try:
            run_once(token)
        except RuntimeError as e:
            note("token figure left out: %s" % e)
            return 0
        endpoint.terminate()  # from here on, every run must be a cache hit
        endpoint.wait()
        endpoint = None
        figure("token-cache-hit", "pkjwt-token --cache (hit)", token,
               "pkjwt-sign", sign)
        store_requests(tmp, token[:-3], client_id, scope, b64)
        return 0
    finally:
        if endpoint:
            endpoint.terminate()
            endpoint.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
