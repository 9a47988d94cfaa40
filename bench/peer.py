"""The peer a capable user would write instead of accesscodes: the official `seam` SDK on a
thread pool, one client per thread, each device's two listings (managed and unmanaged codes).

    python bench/peer.py --url http://127.0.0.1:18080 --locks 1000 --threads 128

It reads the same fleet our plan reads (the device pages, then both listings of every device),
and prints one JSON line: the codes it read and the calls it made. `bench/e2e.py` runs it under
`bench/measure.py`, so its wall, CPU and peak RSS are measured as ours are.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.fleet import device_id  # noqa: E402

API_KEY = "seam_bench_key_0000"
PAGE = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--locks", type=int, required=True)
    parser.add_argument("--threads", type=int, default=128)
    args = parser.parse_args()
    from seam import Seam

    local = threading.local()

    def client() -> Seam:
        if not hasattr(local, "seam"):
            local.seam = Seam(api_key=API_KEY, endpoint=args.url)
        return local.seam

    def device_codes(did: str) -> int:
        seam = client()
        managed = seam.access_codes.list(device_id=did)
        unmanaged = seam.access_codes.unmanaged.list(device_id=did)
        return len(managed) + len(unmanaged)

    ids = [device_id(i) for i in range(args.locks)]
    pages = [ids[i : i + PAGE] for i in range(0, len(ids), PAGE)]
    with ThreadPoolExecutor(args.threads) as pool:
        devices = sum(len(found) for found in pool.map(_page(client), pages))
        codes = sum(pool.map(device_codes, ids))
    print(json.dumps({"devices": devices, "codes": codes, "calls": len(pages) + 2 * len(ids)}))


def _page(client):  # type: ignore[no-untyped-def]
    def one(page: list[str]) -> list[object]:
        return list(client().devices.list(device_ids=page))

    return one


if __name__ == "__main__":
    main()
