#!/usr/bin/python3
"""The PyTorch reference for quantgrid's benchmarks (Debian's python3-torch).

Builds the same compact CNN quantgrid builds (3 x Conv-BN-ReLU-MaxPool with 32/64/128
channels, Linear(256)-ReLU-Dropout, Linear(10)) and measures, with the same protocol as
quantgrid (warm-up runs, then timed runs, median), one of:

  train     training steps per second (SGD momentum, batch B), images/s
  fp32      inference latency of the frozen + optimize_for_inference TorchScript model
  int8      inference latency of the FX-quantized model (prepare_fx/convert_fx), traced and
            frozen, on a quantized engine

Prints one JSON object on stdout.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn


def compact_cnn(in_channels=1, image_size=28, classes=10):
    layers, c, size = [], in_channels, image_size
    for width in (32, 64, 128):
        layers += [nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                   nn.MaxPool2d(2)]
        c, size = width, size // 2
    layers += [nn.Flatten(), nn.Linear(128 * size * size, 256), nn.ReLU(), nn.Dropout(0.25),
               nn.Linear(256, classes)]
    return nn.Sequential(*layers)


def time_ms(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return {"median_ms": statistics.median(times), "mean_ms": statistics.fmean(times), "min_ms": min(times),
            "runs": runs}


def bench_train(args):
    model = compact_cnn()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(args.batch, 1, 28, 28)
    if args.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (args.batch,))
    loss_fn = nn.CrossEntropyLoss()
    model.train()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    r = time_ms(step, args.warmup, args.runs)
    r["images_per_second"] = args.batch * 1000.0 / r["median_ms"]
    return r


def bench_fp32(args):
    model = compact_cnn().eval()
    x = torch.randn(args.batch, 1, 28, 28)
    with torch.no_grad():
        ts = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(model)))
        return time_ms(lambda: ts(x), args.warmup, args.runs)


def bench_int8(args):
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    torch.backends.quantized.engine = args.engine
    model = compact_cnn().eval()
    x = torch.randn(args.batch, 1, 28, 28)
    with torch.no_grad():
        prepared = prepare_fx(model, get_default_qconfig_mapping(args.engine), example_inputs=(x,))
        for _ in range(4):
            prepared(torch.randn(64, 1, 28, 28))
        quantized = convert_fx(prepared)
        ts = torch.jit.freeze(torch.jit.trace(quantized, x).eval())
        return time_ms(lambda: ts(x), args.warmup, args.runs)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["train", "fp32", "int8"])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--engine", default="onednn")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--channels-last", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    result = {"train": bench_train, "fp32": bench_fp32, "int8": bench_int8}[args.mode](args)
    result.update(mode=args.mode, batch=args.batch, threads=torch.get_num_threads(), torch=torch.__version__)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
