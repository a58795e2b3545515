"""The PyTorch counterpart of `deno run examples/vae.ts --config 10x30 --epochs 1` on a directory holding the
four Fashion-MNIST IDX files: one epoch of the categorical VAE 10×30 (ReinMax, τ 1.3, RAdam 5e-4, batch 100),
then the test −ELBO. The images are converted to one float tensor up front, the usual fast path in PyTorch.
Prints one JSON object: train and test −ELBO (nats per image) and the training seconds.

    python3 bench/torch/train_vae.py /usr/share/datasets/fashion-mnist
"""
import gzip
import json
import os
import sys
import time

import numpy as np
import torch

from models import CategoricalVae


def load_images(directory, name):
    path = os.path.join(directory, name)
    opener = gzip.open if name.endswith(".gz") else open
    if not os.path.exists(path) and name.endswith(".gz"):
        path, opener = path[:-3], open
    with opener(path, "rb") as f:
        raw = f.read()
    count, rows, cols = np.frombuffer(raw, dtype=">u4", count=3, offset=4)
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(int(count), int(rows * cols))
    return torch.from_numpy(pixels.copy()).float().div_(255)


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    directory = sys.argv[1]
    train = load_images(directory, "train-images-idx3-ubyte.gz")
    test = load_images(directory, "t10k-images-idx3-ubyte.gz")
    batch = 100
    task = CategoricalVae("reinmax", 1.3, 10, batch, config="10x30")
    start = time.perf_counter()
    order, losses = torch.randperm(len(train)), []
    for first in range(0, len(train), batch):
        task.images = train[order[first:first + batch]]
        task.batch = len(task.images)
        losses.append(sum(task.step()))
    seconds = time.perf_counter() - start
    total = 0.0
    with torch.no_grad():
        for first in range(0, len(test), batch):
            task.images = test[first:first + batch]
            task.batch = len(task.images)
            total += sum(t.item() for t in task.loss(None, None)) * task.batch
    print(json.dumps({
        "trainElbo": sum(losses) / len(losses),
        "testElbo": total / len(test),
        "trainSeconds": seconds,
    }))


if __name__ == "__main__":
    main()
