#!/usr/bin/env python3
"""Prints the docs/PERFORMANCE.md timing table from criterion's last run.

    cargo bench --bench headers     # and/or: cargo bench --bench breaker
    python3 benches/report.py

    cargo bench --bench auth
    python3 benches/report.py auth

Reads $CARGO_TARGET_DIR/criterion (default target/criterion). A layer's added
cost is its median time minus the `baseline` of its group (the bare handler);
the ratio compares harden's added cost with the peer's in the same run.
"""

import json
import os
import sys
from pathlib import Path

GROUPS = [
    ("security_headers", "helmet's headers on a plain-HTTP response"),
    ("security_headers_https", "helmet's headers on HTTPS (HSTS too)"),
    ("cors_actual", "CORS, allowed origin, credentialed GET"),
    ("cors_preflight", "CORS preflight answered by the layer"),
    ("headers_and_cors", "security headers + CORS, as the issue asks"),
    ("request_id", "request id generated (UUID v4) and propagated"),
    ("breaker_closed", "a ready future through a closed breaker"),
    ("breaker_open", "a call rejected by an open breaker"),
    ("breaker_layer", "the breaker as a tower layer, closed"),
]
# The bare handler (or future) each group's added costs are measured from,
# and the prefixes of the peers harden is compared with.
BASELINES = ("baseline", "bare future")
PEERS = ("tower-http", "failsafe")


def median_ns(bench_dir: Path) -> float:
    data = json.loads((bench_dir / "new" / "estimates.json").read_text())
    return data["median"]["point_estimate"]


def fmt(ns: float) -> str:
    return f"{ns / 1000:.2f} µs" if abs(ns) >= 1000 else f"{ns:.0f} ns"


def group_results(gdir: Path) -> dict:
    results = {}
    for bench in sorted(gdir.iterdir()):
        if (bench / "new" / "estimates.json").is_file():
            name = json.loads((bench / "new" / "benchmark.json").read_text())["function_id"]
            results[name] = median_ns(bench)
    return results


AUTH_ALGORITHMS = ["RS256", "PS256", "ES256", "ES384", "EdDSA", "HS256", "HS384", "HS512"]


def auth(root: Path) -> int:
    """The harden-auth tables: verification per algorithm, then the layer."""
    print("| algorithm | jsonwebtoken `decode` | harden, first-seen token | ÷ jsonwebtoken "
          "| harden, repeated token | ÷ jsonwebtoken |")
    print("|---|---:|---:|---:|---:|---:|")
    for alg in AUTH_ALGORITHMS:
        gdir = root / f"auth_{alg}"
        if not gdir.is_dir():
            continue
        r = group_results(gdir)
        peer = r.get("jsonwebtoken decode")
        miss = r.get("harden first-seen")
        hit = r.get("harden repeated")
        if None in (peer, miss, hit):
            continue
        print(f"| {alg} | {fmt(peer)} | {fmt(miss)} | {miss / peer:.2f} | {fmt(hit)} | {hit / peer:.3f} |")
    print()
    print("| algorithm | bare handler | `verify` alone, repeated token | AuthLayer + handler, repeated "
          "| added by the layer | AuthLayer + handler, first-seen |")
    print("|---|---:|---:|---:|---:|---:|")
    for alg in ["RS256", "ES256"]:
        gdir = root / f"auth_layer_{alg}"
        if not gdir.is_dir():
            continue
        r = group_results(gdir)
        base = r.get("baseline")
        verify = r.get("verify only (repeated)")
        hit = r.get("harden AuthLayer (repeated)")
        miss = r.get("harden AuthLayer (first-seen)")
        if None in (base, verify, hit, miss):
            continue
        print(f"| {alg} | {fmt(base)} | {fmt(verify)} | {fmt(hit)} | {fmt(hit - base)} | {fmt(miss)} |")
    return 0


def main() -> int:
    target = Path(os.environ.get("CARGO_TARGET_DIR", "target"))
    root = target / "criterion"
    if not root.is_dir():
        print(f"no criterion results under {root}: run `cargo bench --bench headers`", file=sys.stderr)
        return 1
    if sys.argv[1:] == ["auth"]:
        return auth(root)
    print("| group | stack | median | added | harden ÷ peer (added) |")
    print("|---|---|---:|---:|---:|")
    for group, title in GROUPS:
        gdir = root / group
        if not gdir.is_dir():
            continue
        results = {}
        for bench in sorted(gdir.iterdir()):
            if (bench / "new" / "estimates.json").is_file():
                name = json.loads((bench / "new" / "benchmark.json").read_text())["function_id"]
                results[name] = median_ns(bench)
        base = next((results[b] for b in BASELINES if b in results), 0.0)
        ours = {k: v for k, v in results.items() if k.startswith("harden")}
        peers = {k: v for k, v in results.items() if k.startswith(PEERS)}
        first = True
        for name, ns in results.items():
            added = ns - base if name not in BASELINES else 0.0
            ratio = ""
            if name in peers and "harden" in ours:
                ours_added = ours["harden"] - base
                ratio = f"{ours_added / added:.2f}" if added > 0 else ""
            label = f"**{group}** ({title})" if first else ""
            first = False
            print(f"| {label} | {name} | {fmt(ns)} | {fmt(added) if name not in BASELINES else '—'} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
