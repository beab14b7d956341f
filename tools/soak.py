#!/usr/bin/env python3
"""Bounded soak of `livegate run` against a real mosquitto broker.

Starts its own mosquitto on a free loopback port (in a temp dir), a `livegate run` with the
synthetic camera, and a long-running `mosquitto_sub` on `livegate/t1/#`; then, until the time
is up, starts one challenge after another over MQTT and waits for each one's `response` and
signed `verdict`. The broker is restarted `--broker-restarts` times spread over the run, each
time right after a challenge has started, so that its verdict is decided while the broker is
down and has to come from the spool after the reconnect. Every ~10 s the service's VmRSS,
VmHWM, open fds and threads are sampled.

At the end it checks: every request answered `ok` got exactly one verdict with its request_id
and nonce (a verdict re-sent from the spool may arrive twice with the same seq: counted as a
duplicate, not a loss), seq strictly increasing in challenge order without gaps, the spool
empty, the log free of ERROR/panic lines, RSS and fd growth. Exit 0 when no verdict was lost,
seq strictly increased without gaps, RSS grew less than 5 MiB after the warm-up, the fd count
stayed flat (±2) and the service stayed up; 1 otherwise; 2 on a setup error; 130 when
interrupted. Everything it started is stopped at the end, also on Ctrl-C or a failure.

Python 3.11 standard library only; needs the `mosquitto`, `mosquitto_pub` and `mosquitto_sub`
programs (Debian: mosquitto, mosquitto-clients).

    tools/soak.py --minutes 10 --out /tmp/soak-report.json
"""
from __future__ import annotations

import argparse
import collections
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEVICE = "t1"
BASE = f"livegate/{DEVICE}"
SAMPLE_EVERY_S = 10.0
RESPONSE_TIMEOUT_S = 30.0      # no response by then: the request is counted unanswered
VERDICT_TIMEOUT_S = 150.0      # longer than the liveness timeouts of a stuck challenge
RETRY_WAIT_S = 1.0             # after busy/locked/broker down
BROKER_DOWN_S = 3.0
RSS_LIMIT_KIB = 5 * 1024
FD_TOLERANCE = 2


def log(msg: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Interrupted(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Ed25519 verification (RFC 8032 §6 reference arithmetic), so the verdicts' signatures can be
# checked without a pip package. Slow (a few ms per verdict) but run once at the end.
_P = 2**255 - 19
_Q = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _add(a, b):
    A = (a[1] - a[0]) * (b[1] - b[0]) % _P
    B = (a[1] + a[0]) * (b[1] + b[0]) % _P
    C = 2 * a[3] * b[3] * _D % _P
    D = 2 * a[2] * b[2] % _P
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F, G * H, F * G, E * H)


def _mul(s, pt):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, pt)
        pt = _add(pt, pt)
        s >>= 1
    return q


def _recover_x(y, sign):
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 % _P == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


def _decompress(s: bytes):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0)
_G = (_GX, _GY, 1, _GX * _GY % _P)


def ed25519_verify(public: bytes, msg: bytes, sig: bytes) -> bool:
    if len(public) != 32 or len(sig) != 64:
        return False
    a = _decompress(public)
    r = _decompress(sig[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= _Q:
        return False
    h = int.from_bytes(hashlib.sha512(sig[:32] + public + msg).digest(), "little") % _Q
    lhs = _mul(s, _G)
    rhs = _add(r, _mul(h, a))
    return (lhs[0] * rhs[2] - rhs[0] * lhs[2]) % _P == 0 and (lhs[1] * rhs[2] - rhs[1] * lhs[2]) % _P == 0


def verify_verdict(payload: str, public_hex: str) -> bool:
    """docs/integrators.md: the signature covers the canonical JSON of every other field."""
    try:
        v = json.loads(payload)
        sig = bytes.fromhex(v.pop("sig"))
        msg = json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        return ed25519_verify(bytes.fromhex(public_hex), msg, sig)
    except (ValueError, KeyError, TypeError, AttributeError):
        return False


# ---------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def parse_ts(s: str | None) -> float | None:
    if not s:
        return None
    try:
        return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class Procs:
    """Every process the soak started, stopped in reverse order (the service first)."""

    def __init__(self):
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.lock = threading.Lock()

    def add(self, name: str, p: subprocess.Popen) -> subprocess.Popen:
        with self.lock:
            self.procs.append((name, p))
        return p

    @staticmethod
    def stop(p: subprocess.Popen, grace: float) -> int | None:
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    p.kill()
                except ProcessLookupError:
                    pass
                p.wait(5)
        return p.returncode

    def stop_all(self) -> None:
        with self.lock:
            procs = list(reversed(self.procs))
        for name, p in procs:
            if p.poll() is None:
                self.stop(p, 20.0 if name == "livegate" else 5.0)


class Broker:
    def __init__(self, procs: Procs, workdir: Path, port: int):
        self.procs, self.port = procs, port
        self.dir = workdir / "broker"
        self.dir.mkdir()
        self.conf = self.dir / "mosquitto.conf"
        lines = [
            f"listener {port} 127.0.0.1",
            "allow_anonymous true",
            # Persistence keeps the soak subscriber's session (and what is queued for it)
            # across a restart, so nothing published before it reconnects is missed.
            "persistence true",
            f"persistence_location {self.dir}/",
            "autosave_interval 5",
            "log_dest stderr",
            "log_type error", "log_type warning", "log_type notice", "log_type information",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to `mosquitto`, which cannot write here
        self.conf.write_text("\n".join(lines) + "\n")
        self.log = self.dir / "mosquitto.log"
        self.proc: subprocess.Popen | None = None
        self.up = threading.Event()

    def start(self) -> None:
        logf = open(self.log, "ab")
        self.proc = self.procs.add("mosquitto", subprocess.Popen(
            ["mosquitto", "-c", str(self.conf)], stdin=subprocess.DEVNULL,
            stdout=logf, stderr=logf, start_new_session=True))
        logf.close()
        deadline = time.monotonic() + 10
        while not port_open(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}; see {self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto does not listen on {self.port}; see {self.log}")
            time.sleep(0.05)
        self.up.set()

    def stop(self) -> None:
        self.up.clear()
        if self.proc is not None:
            Procs.stop(self.proc, 10.0)


class Subscriber:
    """`mosquitto_sub -v -q 1` on livegate/t1/#, one `topic payload` line per message, read by a
    thread. A persistent session (-c, fixed id), so it resumes after a broker restart."""

    def __init__(self, procs: Procs, workdir: Path, port: int):
        self.procs, self.port = procs, port
        self.errlog = workdir / "mosquitto_sub.log"
        self.cond = threading.Condition()
        self.responses: dict[str, list[dict]] = collections.defaultdict(list)
        self.verdicts: list[dict] = []           # every verdict message, in arrival order
        self.topic_counts: collections.Counter = collections.Counter()
        self.availability: list[tuple[float, str]] = []
        self.unparsed: list[str] = []
        self.sub_restarts = 0
        self.stopping = False
        self.proc: subprocess.Popen | None = None
        self.thread = threading.Thread(target=self._run, name="sub", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _spawn(self) -> subprocess.Popen:
        errf = open(self.errlog, "ab")
        p = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.port), "-v", "-q", "1",
             "-c", "-i", "livegate-soak-sub", "-t", f"{BASE}/#", "-F", "%t %p"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errf,
            start_new_session=True, text=True, encoding="utf-8", errors="replace", bufsize=1)
        errf.close()
        self.proc = self.procs.add("mosquitto_sub", p)
        return p

    def _run(self) -> None:
        while not self.stopping:
            p = self._spawn()
            assert p.stdout is not None
            for line in p.stdout:
                self._handle(time.time(), line.rstrip("\n"))
            p.wait()
            if not self.stopping:
                self.sub_restarts += 1
                time.sleep(1.0)

    def _handle(self, now: float, line: str) -> None:
        topic, _, payload = line.partition(" ")
        if not topic.startswith(BASE + "/"):
            self.unparsed.append(line[:200])
            return
        sub = topic[len(BASE) + 1:]
        with self.cond:
            self.topic_counts[sub] += 1
            if sub == "response":
                try:
                    r = json.loads(payload)
                    self.responses[str(r.get("request_id"))].append({"t": now, **r})
                except ValueError:
                    self.unparsed.append(line[:200])
            elif sub == "verdict":
                try:
                    v = json.loads(payload)
                    self.verdicts.append({"t": now, "v": v, "raw": payload})
                except ValueError:
                    self.unparsed.append(line[:200])
            elif sub == "availability":
                self.availability.append((now, payload))
            self.cond.notify_all()

    def wait_for(self, pred, timeout: float):
        with self.cond:
            return self.cond.wait_for(pred, timeout)

    def verdicts_for(self, rid: str) -> list[dict]:
        return [m for m in self.verdicts if m["v"].get("request_id") == rid]

    def stop(self) -> None:
        self.stopping = True
        if self.proc is not None:
            Procs.stop(self.proc, 5.0)
        self.thread.join(5)


def proc_sample(pid: int) -> dict | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = {}
    for line in status.splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM", "Threads"):
            fields[k] = int(v.split()[0])
    return {"rss_kib": fields.get("VmRSS"), "hwm_kib": fields.get("VmHWM"),
            "threads": fields.get("Threads"), "fds": fds}


class Sampler(threading.Thread):
    def __init__(self, pid: int, t0: float, broker: Broker):
        super().__init__(name="sampler", daemon=True)
        self.pid, self.t0, self.broker = pid, t0, broker
        self.samples: list[dict] = []
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()

    def take(self, tag: str = "") -> dict | None:
        s = proc_sample(self.pid)
        if s is not None:
            s = {"t_s": round(time.monotonic() - self.t0, 1), **s,
                 "broker_up": self.broker.up.is_set()}
            if tag:
                s["tag"] = tag
            with self.lock:
                self.samples.append(s)
        return s

    def run(self) -> None:
        while not self.stop_ev.is_set():
            if self.take() is None:
                return
            self.stop_ev.wait(SAMPLE_EVERY_S)


def spool_files(spool: Path) -> list[str]:
    try:
        return sorted(os.listdir(spool))
    except FileNotFoundError:
        return []


# ---------------------------------------------------------------------------------------------
class Soak:
    def __init__(self, args):
        self.args = args
        self.procs = Procs()
        self.workdir = Path(tempfile.mkdtemp(prefix="livegate-soak-"))
        self.port = free_port()
        self.spool = self.workdir / "spool"
        self.requests: list[dict] = []   # every start published (or attempted), in order
        self.counts = collections.Counter()
        self.errors_by_kind = collections.Counter()
        self.error_messages = collections.Counter()
        self.restarts: list[dict] = []
        self.challenge_started = threading.Event()
        self.current_rid: str | None = None
        self.stop_ev = threading.Event()
        self.lg: subprocess.Popen | None = None
        self.public_key = ""

    # -- setup --------------------------------------------------------------------------------
    def setup(self) -> None:
        a, d = self.args, self.workdir
        log(f"workdir {d}, broker port {self.port}")
        kg = subprocess.run([a.livegate, "keygen", "--out", str(d / "verdict.key")],
                            capture_output=True, text=True, cwd=REPO, timeout=60)
        if kg.returncode != 0:
            raise RuntimeError(f"keygen failed: {kg.stderr.strip()}")
        m = re.search(r"\b[0-9a-f]{64}\b", kg.stdout)
        self.public_key = m.group(0) if m else ""
        (d / "seq").write_text("0\n")
        (d / "livegate.toml").write_text(f"""[device]
id = "{DEVICE}"
[camera]
source = "synthetic"
[mqtt]
url = "mqtt://127.0.0.1:{self.port}"
spool_dir = "{self.spool}"
reconnect_min_ms = 200
reconnect_max_ms = 1000
[signing]
key_file = "{d / 'verdict.key'}"
seq_file = "{d / 'seq'}"
[lockout]
state_file = "{d / 'lockout.json'}"
max_fails = 1000000
[screen]
path = "{d / 'screen'}"
width = 240
height = 240
""")
        chk = subprocess.run([a.livegate, "config", "--check", str(d / "livegate.toml")],
                             capture_output=True, text=True, cwd=REPO, timeout=60)
        if chk.returncode != 0:
            raise RuntimeError(f"config --check refused the config: {chk.stdout}{chk.stderr}")
        ver = subprocess.run([a.livegate, "--version"], capture_output=True, text=True,
                             cwd=REPO, timeout=120)
        self.version = (ver.stdout or ver.stderr).strip().splitlines()[:1]

        self.broker = Broker(self.procs, d, self.port)
        self.broker.start()
        self.sub = Subscriber(self.procs, d, self.port)
        self.sub.start()

        env = dict(os.environ, RUST_LOG="info")
        self.lglog = d / "livegate.log"
        with open(self.lglog, "wb") as errf:
            # cwd = the repository: ./models and the synthetic face (tests/data/astronaut.png).
            self.lg = self.procs.add("livegate", subprocess.Popen(
                [a.livegate, "run", "-c", str(d / "livegate.toml")], cwd=REPO, env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf,
                start_new_session=True))
        online = lambda: any(p == "online" for _, p in self.sub.availability)
        deadline = time.monotonic() + 180
        while not self.sub.wait_for(online, 1.0):
            if self.lg.poll() is not None:
                raise RuntimeError(f"livegate exited with {self.lg.returncode} at start-up; "
                                   f"see {self.lglog}")
            if time.monotonic() > deadline:
                raise RuntimeError("livegate did not come online within 180 s")
        log(f"livegate pid {self.lg.pid} online")

    # -- broker restarts ----------------------------------------------------------------------
    def restarter(self, at: list[float], t0: float) -> None:
        for i, when in enumerate(at):
            if self.stop_ev.wait(max(0.0, t0 + when - time.monotonic())):
                return
            # Kill it right after a challenge has started, so its verdict is decided while the
            # broker is down and has to come from the spool after the reconnect.
            self.challenge_started.clear()
            got = self.challenge_started.wait(60)
            if self.stop_ev.is_set():
                return
            rid = self.current_rid if got else None
            r = {"n": i + 1, "at_s": round(time.monotonic() - t0, 1), "in_flight_request": rid,
                 "kill_wall": time.time()}
            self.broker.stop()
            r["down_wall"] = time.time()
            max_spool = 0
            end = time.monotonic() + BROKER_DOWN_S
            while time.monotonic() < end:
                max_spool = max(max_spool, len(spool_files(self.spool)))
                time.sleep(0.1)
            try:
                self.broker.start()
            except RuntimeError as e:
                r["error"] = str(e)
                log(f"broker restart {i + 1} FAILED: {e}")
                self.restarts.append(r)
                return
            r["up_wall"] = time.time()
            r["spool_files_while_down"] = max_spool
            self.restarts.append(r)
            log(f"broker restart {i + 1}/{len(at)} done (challenge in flight: {rid}, "
                f"spool files while down: {max_spool})")

    # -- one challenge ------------------------------------------------------------------------
    def publish_start(self, rid: str, nonce: str) -> bool:
        payload = json.dumps({"request_id": rid, "nonce": nonce})
        try:
            r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-q", "1",
                                "-t", f"{BASE}/challenge/start", "-m", payload],
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
            return r.returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def one_challenge(self, n: int, t0: float) -> None:
        """Publish starts (a new request id on each retry) until one is answered ok, then wait
        for its verdict."""
        while True:
            if self.lg.poll() is not None:
                return
            n_req = len(self.requests) + 1
            rid, nonce = f"soak-{n_req}", secrets.token_hex(16)
            req = {"request_id": rid, "nonce": nonce, "t_s": round(time.monotonic() - t0, 2),
                   "sent_wall": time.time(), "challenge": n}
            self.requests.append(req)
            self.counts["published"] += 1
            if not self.publish_start(rid, nonce):
                req["status"] = "publish_failed"
                self.counts["publish_failed"] += 1
                time.sleep(RETRY_WAIT_S)
                continue
            got = self.sub.wait_for(lambda: rid in self.sub.responses, RESPONSE_TIMEOUT_S)
            if not got:
                req["status"] = "unanswered"
                self.counts["unanswered"] += 1
                continue
            resp = self.sub.responses[rid][0]
            req["response_s"] = round(resp["t"] - req["sent_wall"], 3)
            if resp.get("status") == "ok":
                req["status"] = "ok"
                self.counts["ok"] += 1
                self.current_rid = rid
                self.challenge_started.set()
                break
            err = str(resp.get("error", ""))
            kind = err.split(":")[0].strip() or "?"
            if "lock" in err.lower():
                kind = "locked"
            req["status"], req["error"] = "error", err
            self.counts["error"] += 1
            self.errors_by_kind[kind] += 1
            self.error_messages[re.sub(r"[0-9a-f]{32}", "<id>", err)[:120]] += 1
            time.sleep(RETRY_WAIT_S)
        got = self.sub.wait_for(lambda: any(m["v"].get("request_id") == rid for m in self.sub.verdicts),
                                VERDICT_TIMEOUT_S)
        if got:
            m = self.sub.verdicts_for(rid)[0]
            req["verdict_s"] = round(m["t"] - req["sent_wall"], 3)
        else:
            req["verdict_timeout"] = True
            self.counts["verdict_timeout"] += 1
            log(f"no verdict for {rid} within {VERDICT_TIMEOUT_S:.0f} s")

    # -- the run ------------------------------------------------------------------------------
    def run(self) -> int:
        a = self.args
        self.setup()
        t0 = time.monotonic()
        self.t0_wall = time.time()
        duration = a.minutes * 60.0
        self.warmup = min(a.warmup, duration / 2)
        self.sampler = Sampler(self.lg.pid, t0, self.broker)
        self.sampler.start()
        at = [duration * (i + 1) / (a.broker_restarts + 1) for i in range(a.broker_restarts)]
        rt = threading.Thread(target=self.restarter, args=(at, t0), name="restarter", daemon=True)
        rt.start()
        log(f"soak for {a.minutes} min; broker restarts at {[round(x) for x in at]} s")
        n, last_report = 0, t0
        while time.monotonic() - t0 < duration:
            if self.lg.poll() is not None:
                log(f"livegate EXITED with {self.lg.returncode} during the soak")
                break
            n += 1
            self.one_challenge(n, t0)
            if time.monotonic() - last_report >= 60:
                last_report = time.monotonic()
                s = self.sampler.samples[-1] if self.sampler.samples else {}
                log(f"{(last_report - t0) / 60:.1f} min: {self.counts['ok']} challenges, "
                    f"{len(self.sub.verdicts)} verdict messages, rss {s.get('rss_kib')} KiB, "
                    f"fds {s.get('fds')}, threads {s.get('threads')}")
        self.stop_ev.set()
        rt.join(60)
        self.run_s = time.monotonic() - t0
        # Let the spool drain and the last messages arrive.
        deadline = time.monotonic() + 60
        while spool_files(self.spool) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)
        self.sampler.stop_ev.set()
        self.sampler.join(5)
        self.final_sample = self.sampler.take("final")
        self.spool_end = spool_files(self.spool)
        self.lg_alive_at_end = self.lg.poll() is None
        self.seq_file = (self.workdir / "seq").read_text().strip()
        lockout = self.workdir / "lockout.json"
        self.lockout = lockout.read_text().strip() if lockout.exists() else None
        log("stopping livegate (SIGTERM)")
        self.lg_exit = Procs.stop(self.lg, 20.0)
        time.sleep(1)
        self.sub.stop()
        self.broker.stop()
        return self.analyse()

    # -- the checks ---------------------------------------------------------------------------
    def analyse(self) -> int:
        a = self.args
        verdicts = self.sub.verdicts
        ok_reqs = [r for r in self.requests if r.get("status") == "ok"]
        ok_ids = {r["request_id"] for r in ok_reqs}
        by_rid: dict[str, list[dict]] = collections.defaultdict(list)
        for m in verdicts:
            by_rid[str(m["v"].get("request_id"))].append(m)

        lost, nonce_bad, conflicting, duplicates = [], [], [], []
        seq_in_order = []
        for r in ok_reqs:
            ms = by_rid.get(r["request_id"], [])
            if not ms:
                lost.append(r["request_id"])
                continue
            seqs = sorted({m["v"].get("seq") for m in ms})
            if len(seqs) > 1:
                conflicting.append({"request_id": r["request_id"], "seqs": seqs})
            if any(m["v"].get("nonce") != r["nonce"] for m in ms):
                nonce_bad.append(r["request_id"])
            if len(ms) > 1:
                duplicates.append({"request_id": r["request_id"], "seq": ms[0]["v"].get("seq"),
                                   "copies": len(ms),
                                   "arrived_s": [round(m["t"] - self.t0_wall, 1) for m in ms]})
            seq_in_order.append((r["request_id"], ms[0]["v"].get("seq")))
        orphans = [{"request_id": rid, "seq": ms[0]["v"].get("seq")}
                   for rid, ms in by_rid.items() if rid not in ok_ids]
        sent_ids = {r["request_id"] for r in self.requests}
        resp_dups = [{"request_id": rid, "copies": len(rs), "statuses": [x.get("status") for x in rs],
                      "arrived_s": [round(x["t"] - self.t0_wall, 1) for x in rs]}
                     for rid, rs in self.sub.responses.items() if len(rs) > 1]
        resp_unknown = [{"request_id": rid, "status": rs[0].get("status"), "error": rs[0].get("error")}
                        for rid, rs in self.sub.responses.items() if rid not in sent_ids]
        challenges = []
        for r in ok_reqs:
            ms = by_rid.get(r["request_id"], [])
            v = ms[0]["v"] if ms else {}
            challenges.append([r["request_id"], r["t_s"], v.get("seq"), v.get("result"), v.get("reason"),
                               r.get("verdict_s"), len(ms)])

        violations = [{"after": p[0], "seq": p[1], "request_id": c[0], "next_seq": c[1]}
                      for p, c in zip(seq_in_order, seq_in_order[1:])
                      if not (isinstance(p[1], int) and isinstance(c[1], int) and c[1] > p[1])]
        all_seqs = sorted({m["v"].get("seq") for m in verdicts if isinstance(m["v"].get("seq"), int)})
        gaps = []
        expect = 1
        for s in all_seqs:
            if s > expect:
                gaps.append([expect, s - 1])
            expect = s + 1

        uniq = {}
        for m in verdicts:
            uniq.setdefault(m["v"].get("seq"), m)
        results = collections.Counter(m["v"].get("result") for m in uniq.values())
        reasons = collections.Counter(f'{m["v"].get("result")}/{m["v"].get("reason")}'
                                      for m in uniq.values())
        sources = collections.Counter(m["v"].get("source") for m in uniq.values())
        sig_ok = sig_bad = 0
        bad_sigs = []
        if self.public_key:
            for m in uniq.values():
                if verify_verdict(m["raw"], self.public_key):
                    sig_ok += 1
                else:
                    sig_bad += 1
                    bad_sigs.append(m["v"].get("seq"))

        # Broker restarts: was the in-flight challenge's verdict decided while the broker was
        # down, and did it arrive after the reconnect?
        for r in self.restarts:
            rid = r.get("in_flight_request")
            ms = by_rid.get(rid, []) if rid else []
            if ms:
                decided = parse_ts(ms[0]["v"].get("decided_at"))
                r["verdict_seq"] = ms[0]["v"].get("seq")
                r["verdict_copies"] = len(ms)
                if decided is not None and "up_wall" in r:
                    r["verdict_decided_while_down"] = r["kill_wall"] <= decided <= r["up_wall"]
                    r["verdict_arrived_after_reconnect"] = ms[0]["t"] >= r["up_wall"]
                    r["verdict_arrived_s_after_broker_up"] = round(ms[0]["t"] - r["up_wall"], 2)
            elif rid:
                r["verdict_lost"] = True
            r["at_wall"] = dt.datetime.fromtimestamp(r.pop("kill_wall"), dt.timezone.utc).isoformat()
            r.pop("down_wall", None)
            r.pop("up_wall", None)

        # Resources.
        samples = list(self.sampler.samples)
        post = [s for s in samples if s["t_s"] >= self.warmup and s.get("rss_kib") is not None]
        first = samples[0] if samples else {}
        pw = post[0] if post else (samples[-1] if samples else {})
        last = self.final_sample or (samples[-1] if samples else {})
        slope = None
        if len(post) >= 3:
            xs = [s["t_s"] / 60 for s in post]
            ys = [s["rss_kib"] for s in post]
            mx, my = statistics.fmean(xs), statistics.fmean(ys)
            den = sum((x - mx) ** 2 for x in xs)
            slope = round(sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den, 1) if den else None
        rss_growth = (last.get("rss_kib", 0) or 0) - (pw.get("rss_kib", 0) or 0)
        fd_delta = (last.get("fds", 0) or 0) - (pw.get("fds", 0) or 0)

        # Log.
        log_lines = self.lglog.read_text(errors="replace").splitlines()
        ansi = re.compile(r"\x1b\[[0-9;]*m")
        clean = [ansi.sub("", l) for l in log_lines]
        err_lines = [l for l in clean if re.search(r"\bERROR\b", l)]
        panic_lines = [l for l in clean if "panic" in l.lower()]
        warn_lines = [l for l in clean if re.search(r"\bWARN\b", l)]
        warn_kinds = collections.Counter(
            re.sub(r"^\S+\s+WARN\s+", "", re.sub(r"\d+", "N", l))[:160] for l in warn_lines)

        checks = {
            "no_verdict_lost": not lost and not nonce_bad and not conflicting,
            "seq_strictly_increasing": not violations and bool(seq_in_order),
            "seq_without_gaps": not gaps,
            "rss_growth_below_5MiB": rss_growth < RSS_LIMIT_KIB,
            "fd_count_flat": abs(fd_delta) <= FD_TOLERANCE,
            "service_up_until_the_end": self.lg_alive_at_end,
        }
        info_checks = {
            "spool_empty_at_end": not self.spool_end,
            "log_free_of_error_and_panic": not err_lines and not panic_lines,
            "signatures_valid": sig_bad == 0 and sig_ok > 0,
            "broker_restarts_done": len([r for r in self.restarts if "error" not in r]) == a.broker_restarts,
            "service_clean_exit": self.lg_exit == 0,
            "seq_file_matches_last_seq": bool(all_seqs) and self.seq_file == str(all_seqs[-1]),
        }
        failures = [k for k, v in checks.items() if not v]
        warnings = [k for k, v in info_checks.items() if not v]

        lat_v = [r["verdict_s"] for r in ok_reqs if "verdict_s" in r]
        lat_r = [r["response_s"] for r in self.requests if "response_s" in r]
        report = {
            "livegate": str(Path(a.livegate).resolve()),
            "version": self.version,
            "workdir": str(self.workdir),
            "broker_port": self.port,
            "started_at": dt.datetime.fromtimestamp(self.t0_wall, dt.timezone.utc).isoformat(),
            "minutes": a.minutes,
            "run_s": round(self.run_s, 1),
            "warmup_s": self.warmup,
            "requests": {
                "published": self.counts["published"],
                "ok": self.counts["ok"],
                "error": self.counts["error"],
                "error_kinds": dict(self.errors_by_kind),
                "error_messages": dict(self.error_messages),
                "publish_failed_broker_down": self.counts["publish_failed"],
                "unanswered": self.counts["unanswered"],
                "unanswered_ids": [r["request_id"] for r in self.requests if r.get("status") == "unanswered"],
                "verdict_wait_timeouts": self.counts["verdict_timeout"],
                "responses_duplicated": resp_dups,
                "responses_for_unknown_ids": resp_unknown,
            },
            "verdicts": {
                "messages": len(verdicts),
                "unique_seqs": len(uniq),
                "lost": lost,
                "nonce_mismatch": nonce_bad,
                "conflicting_seqs": conflicting,
                "duplicates_same_seq": duplicates,
                "duplicate_messages": sum(d["copies"] - 1 for d in duplicates),
                "orphans": orphans,
                "results": dict(results),
                "results_reasons": dict(reasons),
                "sources": dict(sources),
                "signatures": {"valid": sig_ok, "invalid": sig_bad, "invalid_seqs": bad_sigs[:20],
                               "public_key": self.public_key},
            },
            "seq": {
                "first": all_seqs[0] if all_seqs else None,
                "last": all_seqs[-1] if all_seqs else None,
                "seq_file_at_end": self.seq_file,
                "strictly_increasing_in_challenge_order": not violations,
                "violations": violations[:20],
                "gaps": gaps,
            },
            "latency_s": {
                "response_median": round(statistics.median(lat_r), 3) if lat_r else None,
                "response_max": round(max(lat_r), 3) if lat_r else None,
                "verdict_median": round(statistics.median(lat_v), 3) if lat_v else None,
                "verdict_max": round(max(lat_v), 3) if lat_v else None,
            },
            "broker_restarts": {"requested": a.broker_restarts, "done": len(self.restarts),
                                "details": self.restarts},
            "resources": {
                "rss_kib": {"first": first.get("rss_kib"), "post_warmup": pw.get("rss_kib"),
                            "post_warmup_t_s": pw.get("t_s"), "last": last.get("rss_kib"),
                            "max": max((s["rss_kib"] for s in samples if s.get("rss_kib")), default=None),
                            "growth_after_warmup": rss_growth,
                            "slope_kib_per_min_after_warmup": slope},
                "hwm_kib": {"first": first.get("hwm_kib"), "last": last.get("hwm_kib")},
                "fds": {"first": first.get("fds"), "post_warmup": pw.get("fds"), "last": last.get("fds"),
                        "min": min((s["fds"] for s in samples), default=None),
                        "max": max((s["fds"] for s in samples), default=None)},
                "threads": {"first": first.get("threads"), "post_warmup": pw.get("threads"),
                            "last": last.get("threads"),
                            "max": max((s["threads"] for s in samples), default=None)},
                "samples": samples,
            },
            "challenges_columns": ["request_id", "started_t_s", "seq", "result", "reason",
                                   "verdict_latency_s", "verdict_copies"],
            "challenges": challenges,
            "spool_at_end": self.spool_end,
            "spool_empty_at_end": not self.spool_end,
            "lockout_state_at_end": self.lockout,
            "mqtt_messages_by_topic": dict(self.sub.topic_counts),
            "availability": [[round(t - self.t0_wall, 1), p] for t, p in self.sub.availability],
            "subscriber_restarts": self.sub.sub_restarts,
            "unparsed_lines": self.sub.unparsed[:20],
            "log": {"lines": len(log_lines), "error_lines": err_lines, "panic_lines": panic_lines,
                    "warn_count": len(warn_lines), "warn_kinds": dict(warn_kinds.most_common(20))},
            "service_exit_code": self.lg_exit,
            "checks": {**checks, **info_checks},
            "failures": failures,
            "warnings": warnings,
            "pass": not failures,
        }
        self.print_summary(report)
        if a.out:
            Path(a.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
            log(f"report written to {a.out}")
        return 0 if not failures else 1

    @staticmethod
    def print_summary(r: dict) -> None:
        q, v, s, res = r["requests"], r["verdicts"], r["seq"], r["resources"]
        rss, fds, th = res["rss_kib"], res["fds"], res["threads"]
        out = [
            "",
            f"=== livegate soak: {r['run_s'] / 60:.1f} min, {q['ok']} challenges ===",
            f"requests : {q['published']} published, {q['ok']} ok, {q['error']} error {q['error_kinds']}, "
            f"{q['publish_failed_broker_down']} publish failed (broker down), {q['unanswered']} unanswered, "
            f"{len(q['responses_duplicated'])} answered twice, {len(q['responses_for_unknown_ids'])} answers to unknown ids",
            f"verdicts : {v['messages']} messages, {v['unique_seqs']} unique; lost {len(v['lost'])}, "
            f"nonce mismatch {len(v['nonce_mismatch'])}, conflicting {len(v['conflicting_seqs'])}, "
            f"duplicates {v['duplicate_messages']} (same seq re-sent, not a loss), orphans {len(v['orphans'])}",
            f"results  : {v['results']}  {v['results_reasons']}",
            f"signature: {v['signatures']['valid']} valid, {v['signatures']['invalid']} invalid",
            f"seq      : {s['first']}..{s['last']} (seq file {s['seq_file_at_end']}), strictly increasing "
            f"{s['strictly_increasing_in_challenge_order']}, gaps {s['gaps']}",
            f"latency  : response median {r['latency_s']['response_median']} s, verdict median "
            f"{r['latency_s']['verdict_median']} s, max {r['latency_s']['verdict_max']} s",
            f"broker   : {r['broker_restarts']['done']}/{r['broker_restarts']['requested']} restarts",
        ]
        for d in r["broker_restarts"]["details"]:
            out.append(f"           #{d['n']} at {d['at_s']} s: in flight {d.get('in_flight_request')}, "
                       f"spool files while down {d.get('spool_files_while_down')}, verdict seq "
                       f"{d.get('verdict_seq')} decided while down {d.get('verdict_decided_while_down')}, "
                       f"arrived after reconnect {d.get('verdict_arrived_after_reconnect')} "
                       f"(+{d.get('verdict_arrived_s_after_broker_up')} s, {d.get('verdict_copies')} copies)")
        out += [
            f"RSS KiB  : first {rss['first']}, after warm-up {rss['post_warmup']} (t={rss['post_warmup_t_s']} s), "
            f"last {rss['last']}, max {rss['max']}, growth {rss['growth_after_warmup']}, "
            f"slope {rss['slope_kib_per_min_after_warmup']} KiB/min; HWM last {res['hwm_kib']['last']}",
            f"fds      : first {fds['first']}, after warm-up {fds['post_warmup']}, last {fds['last']} "
            f"(min {fds['min']}, max {fds['max']})",
            f"threads  : first {th['first']}, after warm-up {th['post_warmup']}, last {th['last']} (max {th['max']})",
            f"spool    : {'empty' if r['spool_empty_at_end'] else r['spool_at_end']} at the end",
            f"log      : {len(r['log']['error_lines'])} ERROR, {len(r['log']['panic_lines'])} panic, "
            f"{r['log']['warn_count']} WARN lines; service exit code {r['service_exit_code']}",
        ]
        for l in (r["log"]["error_lines"] + r["log"]["panic_lines"])[:20]:
            out.append(f"           {l[:240]}")
        for k, n in list(r["log"]["warn_kinds"].items())[:8]:
            out.append(f"           WARN x{n}: {k}")
        if r["warnings"]:
            out.append(f"warnings : {', '.join(r['warnings'])}")
        out.append("RESULT   : PASS" if r["pass"] else f"RESULT   : FAIL ({', '.join(r['failures'])})")
        print("\n".join(out), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--livegate", default=str(REPO / "target/release/livegate"),
                    help="the livegate binary (default: target/release/livegate)")
    ap.add_argument("--minutes", type=float, default=10.0, help="how long to soak (default 10)")
    ap.add_argument("--out", help="write the JSON report here")
    ap.add_argument("--broker-restarts", type=int, default=2,
                    help="restart mosquitto this many times, spread over the run (default 2)")
    ap.add_argument("--warmup", type=float, default=60.0,
                    help="seconds before the RSS/fd baseline sample (default 60, at most half the run)")
    args = ap.parse_args()
    args.livegate = str(Path(args.livegate).resolve())
    for prog in ("mosquitto", "mosquitto_pub", "mosquitto_sub"):
        if not shutil.which(prog) and not Path(f"/usr/sbin/{prog}").exists():
            print(f"soak: {prog} not found (Debian: apt install mosquitto mosquitto-clients)", file=sys.stderr)
            return 2
    if "/usr/sbin" not in os.environ.get("PATH", "").split(":"):
        os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin"
    if not os.access(args.livegate, os.X_OK):
        print(f"soak: {args.livegate} is not an executable", file=sys.stderr)
        return 2

    def on_signal(signum, _frame):
        raise Interrupted(signal.Signals(signum).name)

    # Explicitly: a shell's background job starts with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    soak = Soak(args)
    try:
        return soak.run()
    except (KeyboardInterrupt, Interrupted) as e:
        log(f"interrupted ({str(e) or 'SIGINT'}); stopping everything")
        return 130
    except RuntimeError as e:
        log(f"setup failed: {e}")
        return 2
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        soak.stop_ev.set()
        if hasattr(soak, "sub"):
            soak.sub.stopping = True
        soak.procs.stop_all()
        log(f"logs kept in {soak.workdir}")


if __name__ == "__main__":
    sys.exit(main())
