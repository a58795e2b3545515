#!/usr/bin/env python3
"""Trains one of the PyTorch reference models (bench/torch/models.py) and writes it as a reinmax checkpoint:
a model trained in PyTorch that the SDK loads with loadCheckpoint and continues training, optimiser state
included. docs/checkpoints.md describes the format this follows.

    python3 bench/torch/export_checkpoint.py OUT.safetensors [--model categorical|bernoulli] [--config 8x4]
        [--steps 5] [--estimator reinmax] [--tau 1.3] [--batch 20] [--seed 0]

It needs only torch (the safetensors container is written here with struct and json, the way the reference
writer lays it out), and prints one JSON line: the step, and the KL term of the trained encoder on the
training batch, which does not depend on any sample, so the SDK can check that it reads the weights the way
PyTorch computed with them.
"""
import argparse
import json
import math
import struct
import sys
import zlib

import torch
import torch.nn.functional as F

import models

# What the SDK expects in the metadata (src/checkpoint/checkpoint.ts): the format, the weight layout, the model's
# kind and options, the optimiser, the estimator, the step and the positions of the SDK's own random streams.
FORMAT = "reinmax.checkpoint/2"
LAYOUT = "weight[in][out]"
CHECKSUM_KEY = "reinmax.contents_checksum"


def contents_checksum(tensors, metadata):
    """CRC-32 over the contents as reinmax defines it: each tensor in name order (name, dtype, shape, its
    little-endian bytes), then each metadata entry in key order, every text field followed by a 0 byte."""
    crc = 0
    for name in sorted(tensors):
        array = tensors[name]
        for text in (name, "F32", ",".join(str(d) for d in array.shape)):
            crc = zlib.crc32(text.encode() + b"\0", crc)
        crc = zlib.crc32(array.astype("<f4").tobytes(), crc)
    for key in sorted(metadata):
        if key != CHECKSUM_KEY:
            crc = zlib.crc32(key.encode() + b"\0" + metadata[key].encode() + b"\0", crc)
    return f"crc32:{crc:08x}"


def write_safetensors(path, tensors, metadata):
    """The container as the reference writer lays it out: tensors sorted by name, back to back, the JSON
    header padded with spaces so that the data starts at a multiple of 8."""
    header = {"__metadata__": metadata}
    offset, chunks = 0, []
    for name in sorted(tensors):
        data = tensors[name].astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--model", choices=["categorical", "bernoulli"], default="categorical")
    parser.add_argument("--config", choices=sorted(models.CATEGORICAL), default="8x4")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--estimator", choices=["reinmax", "st"], default="reinmax")
    parser.add_argument("--tau", type=float, default=1.3)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv[1:])
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)

    if args.model == "categorical":
        task = models.CategoricalVae(args.estimator, args.tau, 1, args.batch, config=args.config)
        categories, latents, optimizer_name, lr = models.CATEGORICAL[args.config]
        options = {"categories": categories, "latents": latents, "inputSize": 784, "hidden": [512, 256]}
    else:
        task = models.BernoulliVae(args.estimator, args.tau, 1, args.batch)
        optimizer_name, lr = "radam", 3e-4
        options = {"latents": 200, "hidden": [200, 200], "inputSize": 784, "evaluations": 1,
                   "binarize": "dynamic", "slope": 0.3}
    options.update({"batch": args.batch, "seed": args.seed, "readEvery": 50})
    for _ in range(args.steps):
        task.step()

    # Each parameter and its Adam moments, every matrix transposed from nn.Linear's [out][in] to [in][out].
    tensors, steps = {}, set()
    for label, parameter, transposed in task.layout():
        state = task.opt.state[parameter]
        steps.add(int(state["step"]))
        for suffix, value in (("", parameter.detach()), (".exp_avg", state["exp_avg"]),
                              (".exp_avg_sq", state["exp_avg_sq"])):
            tensors[label + suffix] = (value.t() if transposed else value).contiguous().numpy()
    assert len(steps) == 1, f"the parameters were updated a different number of times: {steps}"
    group = task.opt.param_groups[0]
    metadata = {
        "format": FORMAT,
        "layout": LAYOUT,
        "model": args.model,
        "options": json.dumps(options),
        "optimizer": json.dumps({"name": optimizer_name, "lr": lr, "beta1": group["betas"][0],
                                 "beta2": group["betas"][1], "eps": group["eps"],
                                 "weightDecay": group["weight_decay"]}),
        "estimator": json.dumps({"name": args.estimator, "tau": args.tau, "k": 1, "gap": 1}),
        "step": str(steps.pop()),
        "counters": json.dumps({"draws": 0}),
        "run.source": "bench/torch/export_checkpoint.py",
    }
    metadata[CHECKSUM_KEY] = contents_checksum(tensors, metadata)
    write_safetensors(args.out, tensors, metadata)

    with torch.no_grad():
        x = task.images
        if args.model == "categorical":
            log_q = task.encoder(x).view(args.batch, latents, categories).log_softmax(-1)
            kl = ((log_q.exp() * log_q).sum() / args.batch + latents * math.log(categories)).item()
        else:
            z, rho = 2 * task.encoder(x) - 1, task.prior
            q = torch.sigmoid(z)
            kl = (q * (F.logsigmoid(z) - F.logsigmoid(rho)) + (1 - q) * (F.logsigmoid(-z) - F.logsigmoid(-rho)))
            kl = (kl.sum() / args.batch).item()
    print(json.dumps({"step": int(metadata["step"]), "kl": kl}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
