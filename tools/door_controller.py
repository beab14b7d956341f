#!/usr/bin/env python3
"""Reference door controller for livegate: one invocation = one door attempt.

It asks the terminal for a challenge over MQTT and opens the door only for a verdict that is
the authentic, fresh, camera-made `pass` answering *this* request. For each verdict, in order
(first failure wins):

  not ours, so it is listed in "rejected" and we keep waiting (an outsider who can publish on
  the verdict topic can then neither open nor deny):
    1. the MQTT retain flag is set                      -> "retained message ..."
    2. not a JSON object, no string sig, sig not 128 hex -> "malformed: ..."
    3. the Ed25519 signature over the canonical JSON does not verify with the pinned key
                                                        -> "bad signature ..."
    4. device_id is not --device                        -> "device_id X is not Y"
       nonce is not the one we sent                     -> "nonce mismatch ..."
  ours, so it decides (DENY unless every check passes):
    5. seq not above the last accepted one (--state)    -> "seq N is not above ..."
    6. expired (expires_at + --skew is past)            -> "expired at ..."
       decided_at more than --skew in the future         -> "decided_at ... is in the future ..."
    7. source is not v4l2 (or an --allow-source)        -> "source is ..., not a camera ..."
    8. result is not pass                               -> "result is ... (reason ...)"
    9. OPEN (reason "pass"); for 6-9 the seq is persisted (atomically) before acting.
  A `response` with our request_id and status "error" denies ("terminal refused the request:
  ..."); no decision within --timeout denies ("timeout: ...").

Usage:
  door_controller.py --broker mqtts://broker.lan:8883 --device door-1 \\
      --public-key <64 hex from `livegate keygen`> --state /var/lib/door/state.json \\
      [--username door --password-file /etc/door/password --ca-file /etc/door/ca.pem] \\
      [--on-open 'gpioset gpiochip0 17=1; sleep 1; gpioset gpiochip0 17=0']

Prints one JSON line on stdout: {"decision": "open"|"deny", "reason", "seq", "request_id",
"nonce", "rejected": [{"reason", "seq"}...]}. Exit 0 = open, 1 = deny, 2 = could not run.
Needs `cryptography` and `paho-mqtt` 2.x (tools/requirements-door.txt); the verdict checks
(judge() and the check_* functions) need only `cryptography`.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import queue
import secrets
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

log = logging.getLogger("door_controller")

CAMERA_SOURCE = "v4l2"
HEX = frozenset("0123456789abcdefABCDEF")


class CannotRun(Exception):
    """Bad options, an unreadable state file, an unreachable broker: exit 2."""


# ---------------------------------------------------------------- verdict checks (pure)


@dataclasses.dataclass(frozen=True)
class Context:
    """What a verdict is judged against."""

    device_id: str
    public_key: Ed25519PublicKey
    nonce: str
    last_seq: int | None  # last accepted seq for this device and key; None = none yet
    now: float  # this machine's clock, Unix seconds
    skew: float = 5.0
    sources: frozenset[str] = frozenset({CAMERA_SOURCE})


def load_public_key(public_key_hex: str) -> Ed25519PublicKey:
    """The pinned Ed25519 public key from its 64 hex digits (ValueError otherwise)."""
    if len(public_key_hex) != 64 or not set(public_key_hex) <= HEX:
        raise ValueError("the public key must be 64 hex digits")
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))


def canonical_json(fields: dict) -> bytes:
    """The bytes the signature covers: keys sorted, no whitespace, UTF-8."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def parse_verdict(payload: bytes) -> dict:
    """The verdict as a dict, or ValueError("malformed: <what>")."""
    try:
        v = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ValueError(f"malformed: not JSON ({e})") from None
    if not isinstance(v, dict):
        raise ValueError("malformed: not a JSON object")
    sig = v.get("sig")
    if not isinstance(sig, str):
        raise ValueError("malformed: no string sig")
    if len(sig) != 128 or not set(sig) <= HEX:
        raise ValueError("malformed: sig is not 128 hex digits")
    return v


def signature_ok(verdict: dict, public_key: Ed25519PublicKey) -> bool:
    """Whether `sig` is the key's Ed25519 signature over the canonical JSON of the rest."""
    fields = {k: x for k, x in verdict.items() if k != "sig"}
    try:
        public_key.verify(bytes.fromhex(verdict["sig"]), canonical_json(fields))
    except (InvalidSignature, ValueError):
        return False
    return True


def parse_time(s: object) -> float:
    """Unix seconds of an RFC 3339 time with a zone, e.g. 2026-12-07T09:40:01.123Z."""
    if not isinstance(s, str):
        raise ValueError(f"{s!r} is not a time")
    t = datetime.fromisoformat(s)  # Python 3.11 reads the trailing Z
    if t.tzinfo is None:
        raise ValueError(f"{s!r} has no time zone")
    return t.timestamp()


def seq_of(verdict: object) -> int | None:
    """The verdict's seq when it is an integer, else None."""
    seq = verdict.get("seq") if isinstance(verdict, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def check_device(v: dict, device_id: str) -> str | None:
    """Step 4a: from the terminal we asked (None), or why not."""
    if v.get("device_id") != device_id:
        return f"device_id {v.get('device_id')} is not {device_id}"
    return None


def check_nonce(v: dict, nonce: str) -> str | None:
    """Step 4b: the answer to our challenge (None), or why not."""
    if v.get("nonce") != nonce:
        return "nonce mismatch (a replayed verdict, or another controller's challenge)"
    return None


def check_seq(v: dict, last_seq: int | None) -> str | None:
    """Step 5: seq above the last accepted one (None), or why not."""
    seq = seq_of(v)
    if seq is None:
        return f"seq {v.get('seq')!r} is not an integer"
    if last_seq is not None and seq <= last_seq:
        return (f"seq {seq} is not above the last accepted {last_seq} "
                "(a replay, or the terminal's counter was reset)")
    return None


def check_time(v: dict, now: float, skew: float) -> str | None:
    """Step 6: not expired and not decided in the future (None), or why not."""
    try:
        expires = parse_time(v.get("expires_at"))
    except ValueError:
        return f"expired at {v.get('expires_at')!r}: not an RFC 3339 time, so treated as expired"
    if now > expires + skew:
        return f"expired at {v['expires_at']}"
    try:
        decided = parse_time(v.get("decided_at"))
    except ValueError:
        return f"decided_at {v.get('decided_at')!r} is not an RFC 3339 time"
    if decided > now + skew:
        return f"decided_at {v['decided_at']} is in the future (clock skew)"
    return None


def check_source(v: dict, sources: frozenset[str] = frozenset({CAMERA_SOURCE})) -> str | None:
    """Step 7: frames from a camera (None), or why not."""
    if v.get("source") not in sources:
        return f"source is {v.get('source')}, not a camera (only v4l2 opens a door)"
    return None


def check_result(v: dict) -> str | None:
    """Step 8: a pass (None), or what it was."""
    if v.get("result") != "pass":
        reason = v.get("reason")
        return f"result is {v.get('result')} (reason {'null' if reason is None else reason})"
    return None


def judge(payload: bytes, retained: bool, ctx: Context) -> tuple[str, str]:
    """Judge one message on the verdict topic: ("rejected" | "deny" | "open", reason).

    "rejected" = not the answer to our challenge: keep waiting. A "deny" or "open" verdict
    whose seq is above ctx.last_seq must be persisted as the last accepted before acting.
    """
    if retained:
        return "rejected", "retained message (an old verdict kept by the broker)"
    try:
        v = parse_verdict(payload)
    except ValueError as e:
        return "rejected", str(e)
    if not signature_ok(v, ctx.public_key):
        return "rejected", "bad signature (forged, or signed by another key)"
    why = check_device(v, ctx.device_id) or check_nonce(v, ctx.nonce)
    if why:
        return "rejected", why
    why = (check_seq(v, ctx.last_seq) or check_time(v, ctx.now, ctx.skew)
           or check_source(v, ctx.sources) or check_result(v))
    return ("deny", why) if why else ("open", "pass")


def judge_response(payload: bytes, request_id: str) -> str | None:
    """A `response` message: the deny reason if the terminal refused our request, else None."""
    try:
        r = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    if isinstance(r, dict) and r.get("request_id") == request_id and r.get("status") == "error":
        return f"terminal refused the request: {r.get('error')}"
    return None


# ---------------------------------------------------------------- state file


def state_key(device_id: str, public_key_hex: str) -> str:
    return f"{device_id}/{public_key_hex.lower()}"


def load_state(path: str) -> dict:
    """{"version": 1, "last_seq": {"<device>/<key hex>": N}}; missing = empty; else CannotRun."""
    try:
        with open(path, "rb") as f:
            state = json.load(f)
    except FileNotFoundError:
        return {"version": 1, "last_seq": {}}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CannotRun(f"state file {path} is unreadable or corrupt ({e}); "
                        "fix or remove it (removing it forgets every accepted seq)") from None
    last = state.get("last_seq") if isinstance(state, dict) else None
    if (not isinstance(state, dict) or state.get("version") != 1 or not isinstance(last, dict)
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in last.values())):
        raise CannotRun(f"state file {path} is corrupt: expected "
                        '{"version": 1, "last_seq": {"<device>/<key>": N}}')
    return state


def save_state(path: str, state: dict) -> None:
    """Atomically replace the state file: temporary file in the same folder, fsync, rename."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".door-state-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(state, f, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# ---------------------------------------------------------------- MQTT


def mqtt_client(opts: argparse.Namespace, events: queue.Queue, topics: list[str]):
    """A paho client (MQTT 3.1.1, clean session) that puts what happens on `events`."""
    try:
        import paho.mqtt.client as mqtt  # only the MQTT part needs paho
    except ImportError:
        raise CannotRun("paho-mqtt 2.x is not installed "
                        "(pip install -r tools/requirements-door.txt)") from None

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"door-{secrets.token_hex(6)}",
                         clean_session=True, protocol=mqtt.MQTTv311)
    if opts.username is not None:
        client.username_pw_set(opts.username, opts.password)
    if opts.tls:
        client.tls_set_context(ssl.create_default_context(cafile=opts.ca_file))

    def on_connect(client, _userdata, _flags, reason_code, _properties):
        if reason_code.is_failure:
            events.put(("connect_failed", str(reason_code)))
        else:  # also after a reconnect: the clean session lost the subscriptions
            client.subscribe([(t, 1) for t in topics])

    def on_subscribe(_client, _userdata, _mid, reason_codes, _properties):
        events.put(("subscribed", [str(rc) for rc in reason_codes if rc.is_failure]))

    def on_message(_client, _userdata, msg):
        events.put(("message", msg.topic, bytes(msg.payload), bool(msg.retain)))

    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    client.reconnect_delay_set(1, 5)
    return client


def connect(client, host: str, port: int, events: queue.Queue, deadline: float) -> None:
    """Connect and wait for the SUBACK, retrying until the deadline (then CannotRun)."""
    last_error = "no answer"
    client.connect_timeout = min(5.0, max(0.1, deadline - time.monotonic()))
    while True:
        if deadline - time.monotonic() <= 0:
            raise CannotRun(f"cannot reach the broker {host}:{port}: {last_error}")
        try:
            client.connect(host, port, keepalive=30)
            break
        except ssl.SSLError as e:  # a certificate problem does not go away by retrying
            raise CannotRun(f"TLS with {host}:{port} failed: {e}") from None
        except OSError as e:
            last_error = str(e)
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    client.loop_start()
    while True:
        try:
            event = events.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise CannotRun(f"the broker {host}:{port} did not accept the connection and "
                            "subscriptions in time") from None
        if event[0] == "connect_failed":
            raise CannotRun(f"the broker {host}:{port} refused the connection: {event[1]}")
        if event[0] == "subscribed":
            if event[1]:
                raise CannotRun(f"the broker refused the subscriptions: {', '.join(event[1])}")
            return


# ---------------------------------------------------------------- one door attempt


def attempt(opts: argparse.Namespace) -> dict:
    """Run one door attempt; the result line as a dict (CannotRun when it cannot)."""
    key = load_public_key(opts.public_key)
    skey = state_key(opts.device, opts.public_key)
    state = load_state(opts.state)
    base = f"{opts.base_topic}/{opts.device}"
    events: queue.Queue = queue.Queue()
    client = mqtt_client(opts, events, [f"{base}/verdict", f"{base}/response"])
    try:
        connect(client, opts.host, opts.port, events, time.monotonic() + opts.timeout)
        nonce, request_id = secrets.token_hex(16), f"door-{secrets.token_hex(8)}"
        out = {"decision": "deny", "reason": f"timeout: no verdict within {opts.timeout:g} s",
               "seq": None, "request_id": request_id, "nonce": nonce, "rejected": []}
        client.publish(f"{base}/challenge/start",
                       json.dumps({"request_id": request_id, "nonce": nonce}), qos=1, retain=False)
        deadline = time.monotonic() + opts.timeout
        ctx = Context(opts.device, key, nonce, state["last_seq"].get(skey), 0.0, opts.skew,
                      frozenset({CAMERA_SOURCE, *opts.allow_source}))
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = events.get(timeout=remaining)
            except queue.Empty:
                break
            if event[0] != "message":
                continue
            _, topic, payload, retained = event
            if topic == f"{base}/response":
                refused = judge_response(payload, request_id)
                if refused:
                    out["reason"] = refused
                    break
                continue
            kind, reason = judge(payload, retained, dataclasses.replace(ctx, now=time.time()))
            seq = seq_of(parse_json_quietly(payload))
            if kind == "rejected":
                log.warning("ignored a verdict that is not ours: %s", reason)
                out["rejected"].append({"reason": reason, "seq": seq})
                continue
            if seq is not None and (ctx.last_seq is None or seq > ctx.last_seq):
                state["last_seq"][skey] = seq  # authentic and newer: persist before acting
                try:
                    save_state(opts.state, state)
                except OSError as e:
                    raise CannotRun(f"cannot write the state file {opts.state}: {e}") from None
            out.update(decision=kind, reason=reason, seq=seq)
            break
    finally:
        client.disconnect()
        client.loop_stop()
    return out


def parse_json_quietly(payload: bytes) -> object:
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None


def run_on_open(cmd: str, seq: int | None) -> str | None:
    """Run --on-open with `sh -c` (its stdout goes to our stderr); what failed, or None."""
    env = dict(os.environ, LIVEGATE_SEQ="" if seq is None else str(seq))
    try:
        rc = subprocess.run(["sh", "-c", cmd], env=env, stdout=sys.stderr, check=False).returncode
    except OSError as e:
        return f"cannot run sh: {e}"
    if rc == 0:
        return None
    return f"exit status {rc}" if rc > 0 else f"killed by signal {-rc}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="One door attempt against a livegate terminal.")
    p.add_argument("--broker", required=True, help="mqtt://HOST:PORT or mqtts://HOST:PORT")
    p.add_argument("--device", required=True, help="the terminal's device id")
    p.add_argument("--public-key", required=True, help="the terminal's Ed25519 public key (64 hex)")
    p.add_argument("--state", required=True, help="file keeping the last accepted seq")
    p.add_argument("--base-topic", default="livegate")
    p.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for the verdict")
    p.add_argument("--skew", type=float, default=5.0, help="clock-skew allowance in seconds")
    p.add_argument("--username")
    p.add_argument("--password-file", help="the password is this file's first line")
    p.add_argument("--ca-file", help="CA certificate(s) for mqtts:// (default: system store)")
    p.add_argument("--on-open", help="run with `sh -c` after an accepted verdict (LIVEGATE_SEQ)")
    p.add_argument("--allow-source", action="append", default=[], metavar="S",
                   help="TESTING ONLY: also accept verdicts from source S (e.g. replay)")
    opts = p.parse_args(argv)

    url = urllib.parse.urlsplit(opts.broker)
    if url.scheme not in ("mqtt", "mqtts") or not url.hostname:
        p.error("--broker must be mqtt://HOST:PORT or mqtts://HOST:PORT")
    try:
        opts.port = url.port or (8883 if url.scheme == "mqtts" else 1883)
    except ValueError as e:
        p.error(f"--broker: {e}")
    opts.host, opts.tls = url.hostname, url.scheme == "mqtts"
    if opts.ca_file and not opts.tls:
        p.error("--ca-file needs an mqtts:// broker")
    try:
        load_public_key(opts.public_key)
    except ValueError as e:
        p.error(f"--public-key: {e}")
    if not opts.timeout > 0 or not opts.skew >= 0:
        p.error("--timeout must be > 0 and --skew >= 0")
    opts.password = None
    if opts.password_file:
        if opts.username is None:
            p.error("--password-file needs --username")
        try:
            with open(opts.password_file, encoding="utf-8") as f:
                opts.password = f.readline().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as e:
            p.error(f"--password-file: {e}")
    folder = os.path.dirname(os.path.abspath(opts.state))
    if not os.access(folder, os.W_OK):
        p.error(f"--state: cannot write in {folder}")
    return opts


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="door_controller: %(levelname)s: %(message)s")
    opts = parse_args(argv)  # exits 2 on bad options
    for s in opts.allow_source:
        log.warning("TESTING ONLY: verdicts from source %r are accepted: this is not a door", s)
    try:
        out = attempt(opts)
    except CannotRun as e:
        log.error("%s", e)
        return 2
    if out["decision"] == "open" and opts.on_open:
        failed = run_on_open(opts.on_open, out["seq"])
        if failed:
            log.error("--on-open failed (%s); the decision stays open", failed)
            out["on_open_failed"] = failed
    print(json.dumps(out, ensure_ascii=False), flush=True)
    return 0 if out["decision"] == "open" else 1


if __name__ == "__main__":
    sys.exit(main())
