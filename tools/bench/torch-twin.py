#!/usr/bin/python3
"""The PyTorch twin of a layer spec, for `tools bench train`: the same layers (conv2d, conv2dTranspose with TF 'same'
padding, add, subtract, concat, clip, the spec's activations), the same batch, Adam and MSE, on random data of the
spec's channels, timed on the CPU with a given thread count. Prints one JSON line: {"imagesPerSecond": ..., ...}.
Usage: torch-twin.py SPEC.json [--size 28] [--images 12000] [--threads 2] [--batch 32] [--repeats 2]
Needs Debian's python3-torch (apt-get install python3-torch); the project's bench says so when it is missing."""
import argparse, json, time
import torch
from torch import nn
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("spec")
ap.add_argument("--size", type=int, default=28)
ap.add_argument("--images", type=int, default=12000)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--repeats", type=int, default=2)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
spec = json.load(open(a.spec))

ACTIVATIONS = {"linear": lambda x: x, "relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
               "relu6": lambda x: torch.clamp(x, 0, 6), "elu": F.elu, "selu": F.selu, "softplus": F.softplus}

def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)

def same_pads(size_in, k, s):
    """TF 'same' along one axis: total pad, the odd extra at the end."""
    out = -(-size_in // s)
    total = max((out - 1) * s + k - size_in, 0)
    return total // 2, total - total // 2

class Twin(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        inp = spec["input"]
        channels = {inp.get("name", "image"): inp["channels"]}
        if inp.get("noiseMap"):
            channels[inp["noiseMap"]] = 1
        self.layers = nn.ModuleDict()
        previous = inp.get("name", "image")
        self.order = []
        for layer in spec["layers"]:
            inputs = layer.get("inputs", [previous])
            kind = layer["kind"]
            if kind in ("conv2d", "conv2dTranspose"):
                k, s = pair(layer["kernelSize"]), pair(layer.get("strides", 1))
                cin = channels[inputs[0]]
                cls = nn.Conv2d if kind == "conv2d" else nn.ConvTranspose2d
                self.layers[layer["name"]] = cls(cin, layer["filters"], k, s, bias=layer.get("useBias", True))
                channels[layer["name"]] = layer["filters"]
            elif kind == "concat":
                channels[layer["name"]] = sum(channels[i] for i in inputs)
            else:
                channels[layer["name"]] = channels[inputs[0]]
            self.order.append((layer, inputs))
            previous = layer["name"]
        self.output = spec.get("output", previous)

    def forward(self, feeds):
        t = dict(feeds)
        for layer, inputs in self.order:
            kind, name = layer["kind"], layer["name"]
            xs = [t[i] for i in inputs]
            act = ACTIVATIONS[layer.get("activation", "linear")]
            if kind == "conv2d":
                conv = self.layers[name]
                (kh, kw), (sh, sw) = conv.kernel_size, conv.stride
                x = xs[0]
                if layer.get("padding", "valid") == "same":
                    top, bottom = same_pads(x.shape[2], kh, sh)
                    left, right = same_pads(x.shape[3], kw, sw)
                    x = F.pad(x, (left, right, top, bottom))
                t[name] = act(conv(x))
            elif kind == "conv2dTranspose":
                conv = self.layers[name]
                y = conv(xs[0])
                if layer.get("padding", "valid") == "same":
                    # TF 'same': output = input * stride; the full transposed output is cropped (the odd pad at the end).
                    (kh, kw), (sh, sw) = conv.kernel_size, conv.stride
                    h, w = xs[0].shape[2] * sh, xs[0].shape[3] * sw
                    top = max(kh - sh, 0) // 2
                    left = max(kw - sw, 0) // 2
                    y = y[:, :, top:top + h, left:left + w]
                t[name] = act(y)
            elif kind == "add":
                t[name] = act(sum(xs))
            elif kind == "subtract":
                t[name] = act(xs[0] - xs[1])
            elif kind == "concat":
                t[name] = torch.cat(xs, 1)
            elif kind == "clip":
                t[name] = torch.clamp(xs[0], layer.get("min", 0), layer.get("max", 1))
            else:
                raise SystemExit(f"layer kind {kind} has no PyTorch twin")
        return t[self.output]

net = Twin(spec)
params = sum(p.numel() for p in net.parameters())
inp = spec["input"]
c, n, s = inp["channels"], a.images, a.size
clean = torch.rand(n, c, s, s)
noisy = torch.clamp(clean + 0.1 * torch.randn(n, c, s, s), 0, 1)
levels = torch.full((n, 1, s, s), 0.1)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
rates = []
for _ in range(a.repeats):
    perm = torch.randperm(n)
    start = time.perf_counter()
    for i in range(0, n, a.batch):
        idx = perm[i:i + a.batch]
        feeds = {inp.get("name", "image"): noisy[idx]}
        if inp.get("noiseMap"):
            feeds[inp["noiseMap"]] = levels[idx]
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(net(feeds), clean[idx])
        loss.backward()
        opt.step()
    rates.append(n / (time.perf_counter() - start))
print(json.dumps({"imagesPerSecond": max(rates), "rates": rates, "params": params, "threads": a.threads, "size": s, "torch": torch.__version__}))
