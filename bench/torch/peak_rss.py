"""Runs a command and prints, as the last line of stdout, one JSON object with its peak resident set size
(ru_maxrss of the child, in KiB, from wait4), its exit status and its wall time. The child's stdout goes to
stderr, so that line is the only thing on stdout.

    python3 bench/torch/peak_rss.py deno run --allow-read examples/vae.ts --epochs 1
"""
import json
import os
import subprocess
import sys
import time

start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=sys.stderr)
_, status, usage = os.wait4(child.pid, 0)
child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
print(json.dumps({
    "peakKiB": usage.ru_maxrss,
    "exitCode": child.returncode,
    "seconds": time.perf_counter() - start,
}), flush=True)
