#!/usr/bin/env python3
"""Check a livegate verdict as a door controller would (docs/integrators.md).

Usage: verify_verdict.py PUBLIC_KEY_HEX [--nonce N] [--last-seq M] [--device ID] [--skew S]
                         [--door] < verdict.json

First the Ed25519 signature (exit 1 if it does not verify: forged, or another key). Then one
line per door check, each "ok", "FAILED" or "NOT CHECKED" (with the option that checks it):
device_id, nonce, seq, expiry (always checked, against this machine's clock), source (only
v4l2 opens a door) and result (only pass). A valid signature alone does not make a verdict
one that may open a door: a replayed, expired or synthetic verdict is signed too. The last
line says whether this one may.

Exit 0 when the signature verifies and no requested check fails (--nonce, --last-seq,
--device; with --door every check, which then needs --nonce and --last-seq); 1 otherwise.
Needs only `cryptography`; the checks are the ones of tools/door_controller.py.
"""
import argparse
import sys
import time

from door_controller import (CAMERA_SOURCE, check_device, check_nonce, check_result, check_seq,
                             check_source, check_time, load_public_key, parse_time,
                             parse_verdict, signature_ok)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("public_key", metavar="PUBLIC_KEY_HEX")
    p.add_argument("--nonce", help="the nonce your start request sent")
    p.add_argument("--last-seq", type=int, metavar="M", help="the last seq your door accepted")
    p.add_argument("--device", metavar="ID", help="the terminal's device id")
    p.add_argument("--skew", type=float, default=5.0, help="clock-skew allowance, s (default 5)")
    p.add_argument("--door", action="store_true",
                   help="require every check (a verdict that may open a door)")
    opts = p.parse_args()
    if opts.door and (opts.nonce is None or opts.last_seq is None):
        p.error("--door needs --nonce and --last-seq")
    try:
        key = load_public_key(opts.public_key)
    except ValueError as e:
        p.error(str(e))

    try:
        v = parse_verdict(sys.stdin.buffer.read())
    except ValueError as e:
        print(f"NOT a verdict: {e}", file=sys.stderr)
        return 1
    if not signature_ok(v, key):
        print("bad signature (forged, or signed by another key)", file=sys.stderr)
        return 1
    print(f"signature ok: seq={v.get('seq')} result={v.get('result')} "
          f"device_id={v.get('device_id')} source={v.get('source')}")

    # (name, failure or None, checked?, required?, how to check it)
    checks = [
        ("device_id", opts.device is not None and check_device(v, opts.device),
         opts.device is not None, opts.device is not None, "pass --device ID"),
        ("nonce", opts.nonce is not None and check_nonce(v, opts.nonce),
         opts.nonce is not None, opts.nonce is not None,
         "pass --nonce N, the nonce your start request sent"),
        ("seq", opts.last_seq is not None and check_seq(v, opts.last_seq),
         opts.last_seq is not None, opts.last_seq is not None,
         "pass --last-seq M, the last seq your door accepted"),
        ("expiry", check_time(v, time.time(), opts.skew), True, opts.door, ""),
        ("source", check_source(v), True, opts.door, ""),
        ("result", check_result(v), True, opts.door, ""),
    ]
    failed, unchecked, exit_code = [], [], 0
    for name, why, checked, required, how in checks:
        if not checked:
            print(f"{name}: NOT CHECKED ({how})")
            unchecked.append(name)
        elif why:
            detail = f" ({age(v, opts)})" if name == "expiry" else ""
            print(f"{name}: FAILED: {why}{detail}")
            failed.append(why.split(" (")[0])
            exit_code = 1 if required else exit_code
        else:
            print(f"{name}: ok ({describe(name, v, opts)})")

    if failed:
        tail = f"; {and_list(unchecked)} not checked" if unchecked else ""
        print(f"NOT a door-opening verdict: {'; '.join(failed)}{tail}")
    elif [u for u in unchecked if u != "device_id"]:
        print(f"NOT shown to be a door-opening verdict: {and_list(unchecked)} not checked")
    else:
        note = " (device_id not checked: the key identifies the terminal)" if unchecked else ""
        print(f"MAY open a door: every door check passed{note}")
    return exit_code


def and_list(names: list) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def age(v: dict, opts: argparse.Namespace) -> str:
    """How far expires_at is from this machine's clock."""
    try:
        left = parse_time(v.get("expires_at")) - time.time()
    except ValueError:
        return "unreadable"
    when = f"{left:.1f} s left" if left >= 0 else f"{-left:.1f} s ago"
    return f"{when} by this machine's clock, skew {opts.skew:g} s"


def describe(name: str, v: dict, opts: argparse.Namespace) -> str:
    """What an ok check found."""
    if name == "device_id":
        return v["device_id"]
    if name == "nonce":
        return "the one sent"
    if name == "seq":
        return f"{v['seq']} > {opts.last_seq}"
    if name == "expiry":
        return f"fresh until {v['expires_at']}, {age(v, opts)}"
    if name == "source":
        return CAMERA_SOURCE
    return v["result"]


if __name__ == "__main__":
    sys.exit(main())
