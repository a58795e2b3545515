"""The PyTorch side of `deno task bench:torch`: a child process that keeps its tasks warm and answers one JSON
line per request on stdout, so that imports and warm-up happen once and the two sides can be interleaved.

Requests (one JSON object per line on stdin):
  {"op": "hello"}                                    → {"torch": version, "threads": n, "blas": …, "cpu": …,
                                                        "cores": n, "load": [1, 5, 15 minute averages]}
  {"op": "create", "id": s, "task": "poly" | "categorical" | "bernoulli", "estimator": …, "tau": …, "k": …,
   "batch": …, "config": …}                           → {}
  {"op": "time", "id": s, "steps": n}                → {"ms": milliseconds per step}
  {"op": "verify", "task": …, "dir": path}           → {"losses": [...]}: reads reinmax's parameters
      (dir/<label>.f32), images (dir/images.f32), categories (dir/sample.i32) and, for GR-MCK, exponentials
      (dir/exponentials.f32); takes one step; writes dir/grad.<label>.f32 and dir/after.<label>.f32
Errors come back as {"error": message}.
"""
import json
import os
import sys
import time
import traceback

import numpy as np
import torch

from models import TASKS


def create(request):
    k = 1 if request["estimator"] == "stgs" else request.get("k", 10)
    options = {key: value for key, value in request.items() if key not in ("op", "id", "task", "k")}
    return TASKS[request["task"]](k=k, **options)


def verify(request):
    path = request["dir"]
    read = lambda name, dtype: np.fromfile(os.path.join(path, name), dtype=dtype)
    task = create({**request, "binarize": False})
    task.load({label: read(f"{label}.f32", np.float32) for label, _, _ in task.layout()})
    if hasattr(task, "images"):
        task.images = torch.from_numpy(read("images.f32", np.float32)).view(task.batch, -1)
    shape = request["sampleShape"]
    forced = torch.from_numpy(read("sample.i32", np.int32).astype(np.int64)).view(shape)
    exponentials = None
    if os.path.exists(os.path.join(path, "exponentials.f32")):
        e = torch.from_numpy(read("exponentials.f32", np.float32))
        exponentials = e.view([-1, *shape, request["n"]])
    task.opt.zero_grad(set_to_none=True)
    terms = task.loss(forced, exponentials)
    sum(terms).backward()
    for label, values in task.export(of_grad=True).items():
        values.tofile(os.path.join(path, f"grad.{label}.f32"))
    task.opt.step()
    for label, values in task.export(of_grad=False).items():
        values.tofile(os.path.join(path, f"after.{label}.f32"))
    return {"losses": [t.item() for t in terms]}


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    tasks = {}
    for line in sys.stdin:
        request = json.loads(line)
        try:
            op = request["op"]
            if op == "hello":
                torch.ones(64, 64) @ torch.ones(64, 64)  # loads the BLAS library
                with open("/proc/self/maps") as maps:
                    libraries = {line.split()[-1] for line in maps if "openblas" in line.lower()}
                blas = ", ".join(sorted(libraries)) or "no BLAS library mapped"
                with open("/proc/cpuinfo") as cpuinfo:
                    cpu = next((l.split(":", 1)[1].strip() for l in cpuinfo if l.startswith("model name")), "?")
                answer = {
                    "torch": torch.__version__,
                    "threads": torch.get_num_threads(),
                    "blas": blas,
                    "cpu": cpu,
                    "cores": os.cpu_count(),
                    "load": os.getloadavg(),
                }
            elif op == "create":
                tasks[request["id"]] = create(request)
                answer = {}
            elif op == "time":
                task, steps = tasks[request["id"]], request["steps"]
                start = time.perf_counter()
                for _ in range(steps):
                    task.step()
                answer = {"ms": (time.perf_counter() - start) * 1000 / steps}
            elif op == "verify":
                answer = verify(request)
            else:
                answer = {"error": f"unknown op {op!r}"}
        except Exception as e:  # the harness reports it and stops
            answer = {"error": f"{e}\n{traceback.format_exc()}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
