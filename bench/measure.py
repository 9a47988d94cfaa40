"""Run one command and report what it cost: wall, CPU (user + system) and peak RSS.

    python -m bench.measure --out FILE -- accesscodes plan -c DIR --format json

Prints one JSON line: `wall_s`, `user_s`, `sys_s`, `rss_mb`, `rc`. The command runs as a child
of this small process and is reaped with `wait4`, so its CPU and peak RSS are its own: Linux
carries a process's high-water mark across `exec`, and a child forked by a large parent (the
bench holds fleets of 500,000 codes) would report the parent's; this launcher is a few MB, far
below any figure it measures, so `ru_maxrss` is the command's VmHWM. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.devnull, help="where the command's stdout goes")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    with open(args.out, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    print(
        json.dumps(
            {
                "wall_s": wall,
                "user_s": usage.ru_utime,
                "sys_s": usage.ru_stime,
                "rss_mb": usage.ru_maxrss / 1024,
                "rc": proc.returncode,
                "stderr": err.decode(errors="replace")[-3000:],
            }
        )
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
