#!/usr/bin/env python3
"""PyTorch's side of dev.tessera.bench.PyTorchBenchmark: trains what the benchmark exported, on command.

The Java benchmark writes a folder per model (manifest.txt, the initial parameters and a few
batches as raw little-endian arrays) and drives this process over stdin/stdout, one command a
line, so the repeats of Tessera and PyTorch can alternate in one run:

  load DIR     builds the model of DIR/manifest.txt in float32 from torch.nn modules, loads the
               parameters, makes the optimizer; answers "ok <torch version> <threads>"
  losses N     N training steps; answers the N losses (to check both sides compute the same thing)
  steps N      N training steps; answers the nanoseconds they took (time.perf_counter_ns around
               the loop, so the pipe is not timed) and the last loss
  peak         answers this process's peak resident set size in bytes (getrusage's ru_maxrss)

The model is PyTorch's eager default: nn.Linear, nn.LayerNorm, nn.Embedding,
F.scaled_dot_product_attention (causal), nn.GELU(approximate="tanh"), F.cross_entropy,
torch.optim.Adam / AdamW (weight decay on matrices only, as Tessera does) and
clip_grad_norm_; the same architecture as examples/oracle/pytorch_oracle.py, in float32.
Batches are cycled from memory, so PyTorch pays nothing for data.
"""

import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LAYER_NORM_EPSILON = 1e-5


class Block(nn.Module):
    """Pre-LayerNorm block: causal self-attention (no key bias), then a 4x GELU (tanh) MLP."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width, eps=LAYER_NORM_EPSILON)
        self.q = nn.Linear(width, width)
        self.k = nn.Linear(width, width, bias=False)
        self.v = nn.Linear(width, width)
        self.attention_proj = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width, eps=LAYER_NORM_EPSILON)
        self.fc = nn.Linear(width, 4 * width)
        self.proj = nn.Linear(4 * width, width)

    def forward(self, x):
        batch, time_steps, width = x.shape
        h = self.ln1(x)

        def heads(t):
            return t.view(batch, time_steps, self.heads, width // self.heads).transpose(1, 2)

        context = F.scaled_dot_product_attention(heads(self.q(h)), heads(self.k(h)), heads(self.v(h)),
                                                 is_causal=True)
        x = x + self.attention_proj(context.transpose(1, 2).reshape(batch, time_steps, width))
        return x + self.proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class Gpt(nn.Module):
    def __init__(self, vocabulary, time_steps, width, layers, heads):
        super().__init__()
        self.token_embedding = nn.Embedding(vocabulary, width)
        self.position_embedding = nn.Parameter(torch.zeros(time_steps, width))
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_final = nn.LayerNorm(width, eps=LAYER_NORM_EPSILON)
        self.head = nn.Linear(width, vocabulary)

    def loss(self, batch):
        x = self.token_embedding(batch["tokens"]) + self.position_embedding
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.ln_final(x))
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch["targets"].reshape(-1), ignore_index=-1)

    def tessera_names(self):
        names = {
            "token_embedding.weight": self.token_embedding.weight,
            "position_embedding.weight": self.position_embedding,
            "ln_final.scale": self.ln_final.weight,
            "ln_final.bias": self.ln_final.bias,
            "head.weight": self.head.weight,
            "head.bias": self.head.bias,
        }
        for i, b in enumerate(self.blocks):
            prefix = f"block{i}."
            for tessera, module in [("ln1", b.ln1), ("ln2", b.ln2)]:
                names[prefix + tessera + ".scale"] = module.weight
                names[prefix + tessera + ".bias"] = module.bias
            for tessera, module in [("attention.q", b.q), ("attention.k", b.k), ("attention.v", b.v),
                                    ("attention.proj", b.attention_proj), ("fc", b.fc), ("proj", b.proj)]:
                names[prefix + tessera + ".weight"] = module.weight
                if module.bias is not None:
                    names[prefix + tessera + ".bias"] = module.bias
        return names


class Mlp(nn.Module):
    def __init__(self, widths):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))

    def loss(self, batch):
        h = batch["x"]
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = F.relu(h)
        return F.cross_entropy(h, batch["labels"])

    def tessera_names(self):
        names = {}
        for i, layer in enumerate(self.layers):
            name = "out" if i == len(self.layers) - 1 else f"fc{i + 1}"
            names[name + ".weight"] = layer.weight
            names[name + ".bias"] = layer.bias
        return names


def read_manifest(folder):
    """Lines `key value...`: scalars, `parameter NAME d0 d1 ...` and `input NAME i32|f32 d0 d1 ...`."""
    manifest = {"parameter": [], "input": []}
    for line in (folder / "manifest.txt").read_text().splitlines():
        key, *values = line.split()
        if key in ("parameter", "input"):
            manifest[key].append(values)
        else:
            manifest[key] = values[0] if len(values) == 1 else values
    return manifest


def read_array(path, dtype, shape):
    return torch.from_numpy(np.fromfile(path, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape).copy())


class Training:
    def __init__(self, folder):
        m = read_manifest(folder)
        if m["model"] == "mlp":
            self.model = Mlp([int(w) for w in m["widths"]])
        else:
            self.model = Gpt(int(m["vocabulary"]), int(m["sequence"]), int(m["width"]), int(m["layers"]),
                             int(m["heads"]))
        names = self.model.tessera_names()
        linear = {id(mod.weight) for mod in self.model.modules() if isinstance(mod, nn.Linear)}
        with torch.no_grad():
            for name, *dims in m["parameter"]:
                value = read_array(folder / f"parameter.{name}.bin", "f4", [int(d) for d in dims])
                target = names.pop(name)
                # Tessera keeps a linear weight as [in, out], torch.nn.Linear as [out, in].
                target.copy_(value.t() if id(target) in linear else value)
        if names:
            raise ValueError(f"parameters the export lacks: {sorted(names)}")
        self.batches = []
        for b in range(int(m["batches"])):
            batch = {}
            for name, kind, *dims in m["input"]:
                value = read_array(folder / f"batch.{b}.{name}.bin", "i4" if kind == "i32" else "f4",
                                   [int(d) for d in dims])
                batch[name] = value.long() if kind == "i32" else value
            self.batches.append(batch)
        parameters = list(self.model.tessera_names().values())
        decay = float(m["weight_decay"])
        groups = [{"params": [p for p in parameters if p.dim() >= 2], "weight_decay": decay},
                  {"params": [p for p in parameters if p.dim() < 2], "weight_decay": 0.0}]
        betas = (float(m["beta1"]), float(m["beta2"]))
        optimizer = torch.optim.AdamW if decay > 0 else torch.optim.Adam
        self.optimizer = optimizer(groups, lr=float(m["lr"]), betas=betas, eps=float(m["epsilon"]))
        self.parameters = parameters
        self.clip = float(m["clip_norm"])
        self.next = 0

    def step(self):
        batch = self.batches[self.next % len(self.batches)]
        self.next += 1
        self.optimizer.zero_grad()
        loss = self.model.loss(batch)
        loss.backward()
        if self.clip > 0:
            torch.nn.utils.clip_grad_norm_(self.parameters, self.clip)
        self.optimizer.step()
        return loss


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    training = None
    for line in sys.stdin:
        command, *args = line.split()
        if command == "load":
            training = Training(Path(args[0]))
            answer = f"ok {torch.__version__} {torch.get_num_threads()}"
        elif command == "losses":
            answer = " ".join(f"{training.step().item():.7g}" for _ in range(int(args[0])))
        elif command == "steps":
            start = time.perf_counter_ns()
            for _ in range(int(args[0])):
                loss = training.step()
            answer = f"{time.perf_counter_ns() - start} {loss.item():.7g}"
        elif command == "peak":
            answer = str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        elif command == "quit":
            break
        else:
            answer = f"error unknown command {command}"
        print(answer, flush=True)


if __name__ == "__main__":
    main()
