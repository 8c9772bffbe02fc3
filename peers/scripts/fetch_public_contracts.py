#!/usr/bin/env python3
"""Fetch real CosmWasm contracts compiled by their publishers, for the
differential tests in peers/tests/public_contracts.rs.

The contracts come from npm packages (the only registry this project's
machines reach that carries compiled contracts): cw-plus's cw20-base,
cw721-base, cw3-fixed-multisig, cw4-group and cw1-whitelist, as built and
published by Oraichain in @oraichain/common-contracts-build, and its DEX
(oraiswap-v3, a concentrated-liquidity swap contract, and the rest of
OraiDEX) in @oraichain/oraidex-contracts-build. Each package
is pinned by version and by the SHA-256 of its tarball; its `data/*.wasm`
files land in target/public-contracts/ (or the folder given as the first
argument). A second run with the files in place fetches nothing.
"""

import hashlib
import io
import pathlib
import sys
import tarfile
import time
import urllib.request

PACKAGES = [
    (
        "https://registry.npmjs.org/@oraichain/common-contracts-build/-/common-contracts-build-1.0.35.tgz",
        "58095a4741cdbc3d0b07dd0d94aaadfd84675fee57e3eef667be0e473a90e0b7",
    ),
    (
        "https://registry.npmjs.org/@oraichain/oraidex-contracts-build/-/oraidex-contracts-build-1.0.36.tgz",
        "531cb442777895080f5e7b59d8071e42b7a386a2ea713c0640687693362deff9",
    ),
]


def fetch(url: str, attempts: int = 3) -> bytes | None:
    """The body at `url`, trying again after a network error."""
    for attempt in range(1, attempts + 1):
        try:
            return urllib.request.urlopen(url, timeout=120).read()
        except OSError as error:
            print(f"fetching {url} (attempt {attempt} of {attempts}): {error}", file=sys.stderr)
            if attempt < attempts:
                time.sleep(5 * attempt)
    print(f"error: could not fetch {url}", file=sys.stderr)
    return None


def main() -> int:
    root = pathlib.Path(__file__).resolve().parents[2]
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else root / "target" / "public-contracts"
    out.mkdir(parents=True, exist_ok=True)
    for url, sha256 in PACKAGES:
        stamp = out / (sha256 + ".done")
        if stamp.exists():
            continue
        data = fetch(url)
        if data is None:
            return 1
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            print(f"error: {url}: SHA-256 {got}, expected {sha256}", file=sys.stderr)
            return 1
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                name = pathlib.PurePosixPath(member.name)
                if member.isfile() and name.parent.name == "data" and name.suffix == ".wasm":
                    (out / name.name).write_bytes(tar.extractfile(member).read())
        stamp.touch()
    print(f"public contracts in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
