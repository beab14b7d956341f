"""Check a livegate verdict's Ed25519 signature, as a door controller would
(docs/integrating.md). Usage: verify_verdict.py PUBLIC_KEY_HEX < verdict.json; exit 0 when it verifies.
Needs `cryptography` (pip install cryptography)."""
import json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

def verify(payload: bytes, public_key_hex: str) -> dict:
    v = json.loads(payload)
    sig = bytes.fromhex(v.pop("sig"))
    msg = json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex)).verify(sig, msg)  # raises if forged
    return v  # then check: v["seq"] > last seen, v["nonce"] is yours, v["expires_at"] not past, v["source"] == "v4l2"

if __name__ == "__main__":
    v = verify(sys.stdin.buffer.read(), sys.argv[1])
    print(f'ok seq={v["seq"]} result={v["result"]}')
