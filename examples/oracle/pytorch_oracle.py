#!/usr/bin/env python3
"""Trains what `tessera export` wrote with PyTorch's own modules and optimizers, and writes a fixture.

Tessera's reference executor is the oracle of every parallel layout, but it shares Tessera's
kernels, gradient rules, optimizers and schedules: a bug there is invisible when Tessera is only
compared with itself. This script shares no code with Tessera. It reads an export folder
(parameters.safetensors: initial parameters in f64; batches.safetensors: `<step>/<micro>/<input>`;
run.json: the resolved config), builds the same model from torch.nn modules, trains it with
torch.optim and torch.optim.lr_scheduler in float64, and writes into the fixture folder:

  expected.safetensors  gradients/first/<name>, gradients/last/<name> (the mean-loss gradient of
                        the first and last step, before clipping), parameters/<name> and
                        optimizer_state/<state name> after the last step; Tessera's names and
                        layouts (a linear weight is [in, out]), float64.
  fixture.json          the loss, gradient norm (before clipping) and learning rate of every
                        step, the SHA-256 of both export files, the command, and the versions.

Usage (see README.md beside this file):
  python pytorch_oracle.py EXPORT_DIR FIXTURE_DIR
"""

import argparse
import hashlib
import json
import math
import platform
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

DTYPE = torch.float64
LAYER_NORM_EPSILON = 1e-5


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


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
        batch, time, width = x.shape
        h = self.ln1(x)

        def heads(t):
            return t.view(batch, time, self.heads, width // self.heads).transpose(1, 2)

        context = F.scaled_dot_product_attention(heads(self.q(h)), heads(self.k(h)), heads(self.v(h)),
                                                 is_causal=True)
        x = x + self.attention_proj(context.transpose(1, 2).reshape(batch, time, width))
        return x + self.proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class Gpt(nn.Module):
    def __init__(self, vocabulary, time, width, layers, heads):
        super().__init__()
        self.token_embedding = nn.Embedding(vocabulary, width)
        self.position_embedding = nn.Parameter(torch.zeros(time, width))
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_final = nn.LayerNorm(width, eps=LAYER_NORM_EPSILON)
        self.head = nn.Linear(width, vocabulary)

    def loss(self, batch):
        tokens = batch["tokens"].long()
        targets = batch["targets"].long()
        if ((targets < 0) & (targets != -1)).any():
            raise ValueError("targets below 0 other than -1: this script ignores only -1")
        x = self.token_embedding(tokens) + self.position_embedding
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.ln_final(x))
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1)

    def tessera_names(self):
        """Tessera's name of every parameter, mapped to the module parameter."""
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
    ACTIVATIONS = {"relu": nn.ReLU, "gelu": lambda: nn.GELU(approximate="tanh"), "tanh": nn.Tanh}

    def __init__(self, widths, activation):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.activation = self.ACTIVATIONS[activation]()

    def loss(self, batch):
        h = batch["x"].to(DTYPE)
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = self.activation(h)
        return F.cross_entropy(h, batch["labels"].long())

    def tessera_names(self):
        names = {}
        for i, layer in enumerate(self.layers):
            name = "out" if i == len(self.layers) - 1 else f"fc{i + 1}"
            names[name + ".weight"] = layer.weight
            names[name + ".bias"] = layer.bias
        return names


def build_model(run):
    shapes = {p["name"]: p["shape"] for p in run["parameters"]}
    model_config = run["config"]["model"]
    if run["model"] == "gpt":
        vocabulary, width = shapes["token_embedding.weight"]
        time = shapes["position_embedding.weight"][0]
        return Gpt(vocabulary, time, width, model_config["layers"], model_config["heads"])
    if run["model"] == "mlp":
        widths = [shapes["fc1.weight"][0] if "fc1.weight" in shapes else shapes["out.weight"][0]]
        widths += list(model_config["hidden"]) + [shapes["out.weight"][1]]
        return Mlp(widths, model_config["activation"])
    raise ValueError(f"no PyTorch twin for model type '{run['model']}'")


def is_linear_weight(model, parameter):
    return any(m.weight is parameter for m in model.modules() if isinstance(m, nn.Linear))


def to_tessera(model, parameter, value):
    """A copy in Tessera's layout: a linear layer's weight is [in, out] there, [out, in] in torch.nn.Linear."""
    value = value.detach().to(DTYPE)
    return (value.t() if is_linear_weight(model, parameter) else value).clone(memory_format=torch.contiguous_format)


def load_parameters(model, names, initial):
    if set(names) != set(initial):
        raise ValueError(f"parameters differ: only in Tessera {sorted(set(initial) - set(names))}, "
                         f"only here {sorted(set(names) - set(initial))}")
    with torch.no_grad():
        for name, parameter in names.items():
            value = initial[name].to(DTYPE)
            value = value.t() if is_linear_weight(model, parameter) else value
            if tuple(value.shape) != tuple(parameter.shape):
                raise ValueError(f"{name}: Tessera shape {tuple(initial[name].shape)} does not fit {tuple(parameter.shape)}")
            parameter.copy_(value)


def make_optimizer(config, names):
    """torch.optim as the config says; weight decay on matrices only (rank >= 2), as Tessera documents."""
    o = config["optimizer"]
    decay = [p for p in names.values() if p.dim() >= 2]
    rest = [p for p in names.values() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": o["weight_decay"]}, {"params": rest, "weight_decay": 0.0}]
    if o["type"] == "adamw" and o["weight_decay"] == 0:
        return torch.optim.Adam(groups, lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["epsilon"])
    if o["type"] == "adamw":
        return torch.optim.AdamW(groups, lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["epsilon"])
    if o["type"] == "sgd":
        return torch.optim.SGD(groups, lr=o["lr"], momentum=o["momentum"], dampening=0.0, nesterov=False)
    raise ValueError(f"optimizer.type '{o['type']}'")


def make_schedule(config, optimizer):
    """torch.optim.lr_scheduler for Tessera's schedules; None for a constant rate."""
    o = config["optimizer"]
    s = o["schedule"]
    steps = config["train"]["steps"]
    if s["type"] == "constant":
        return None
    warmup = s["warmup_steps"]
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, steps - warmup), eta_min=s["min_lr"])
    if warmup == 0:
        return cosine
    # lr * (k + 1) / warmup for k < warmup: LinearLR from 1/warmup reaching 1 at step warmup - 1
    linear = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1.0 / warmup, end_factor=1.0,
                                               total_iters=warmup - 1)
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [linear, cosine], milestones=[warmup])


def documented_rate(config, step):
    """The rate reference.conf documents, to check that the schedulers above express it."""
    o = config["optimizer"]
    s = o["schedule"]
    if s["type"] == "constant":
        return o["lr"]
    warmup, steps, peak, low = s["warmup_steps"], config["train"]["steps"], o["lr"], s["min_lr"]
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, steps - warmup))
    return low + 0.5 * (peak - low) * (1 + math.cos(math.pi * progress))


def state_names(optimizer, names):
    """Tessera's optimizer-state tensors: <param>.adam_m / .adam_v for Adam(W), <param>.momentum for SGD."""
    keys = {"exp_avg": "adam_m", "exp_avg_sq": "adam_v", "momentum_buffer": "momentum"}
    out = {}
    for name, parameter in names.items():
        for key, suffix in keys.items():
            if key in optimizer.state[parameter]:
                out[f"{name}.{suffix}"] = (parameter, optimizer.state[parameter][key])
    return out


def train(export, fixture):
    run = json.loads((export / "run.json").read_text())
    config = run["config"]
    steps = run["steps"]
    micro = config["train"]["micro_batches"]
    initial = load_file(str(export / "parameters.safetensors"))
    batches = load_file(str(export / "batches.safetensors"))

    torch.set_num_threads(1)
    model = build_model(run).to(DTYPE)
    names = model.tessera_names()
    load_parameters(model, names, initial)
    optimizer = make_optimizer(config, names)
    schedule = make_schedule(config, optimizer)
    clip = config["optimizer"]["clip_norm"]

    losses, norms, rates = [], [], []
    expected = {}
    for step in range(steps):
        rate = optimizer.param_groups[0]["lr"]
        if abs(rate - documented_rate(config, step)) > 1e-12 * config["optimizer"]["lr"]:
            raise AssertionError(f"step {step}: PyTorch's scheduler gives lr {rate}, the documented schedule "
                                 f"{documented_rate(config, step)}")
        optimizer.zero_grad(set_to_none=False)
        total = 0.0
        for j in range(micro):
            prefix = f"{step}/{j}/"
            batch = {k[len(prefix):]: v for k, v in batches.items() if k.startswith(prefix)}
            if not batch:
                raise ValueError(f"the export has no batch {prefix}")
            loss = model.loss(batch)
            (loss / micro).backward()
            total += loss.item() / micro
        for tag, at in [("first", 0), ("last", steps - 1)]:
            if step == at:
                for name, parameter in names.items():
                    expected[f"gradients/{tag}/{name}"] = to_tessera(model, parameter, parameter.grad)
        parameters = list(names.values())
        if clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(parameters, clip)
        else:
            norm = torch.nn.utils.get_total_norm([p.grad for p in parameters])
        optimizer.step()
        if schedule is not None:
            schedule.step()
        losses.append(total)
        norms.append(norm.item())
        rates.append(rate)

    for name, parameter in names.items():
        expected[f"parameters/{name}"] = to_tessera(model, parameter, parameter)
    for state, (parameter, value) in state_names(optimizer, names).items():
        expected[f"optimizer_state/{state}"] = to_tessera(model, parameter, value)

    fixture.mkdir(parents=True, exist_ok=True)
    save_file(expected, str(fixture / "expected.safetensors"))
    description = {
        "generated_by": "examples/oracle/pytorch_oracle.py",
        "command": f"examples/oracle/regenerate.sh {fixture.name}",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "dtype": "float64",
        "model": type(model).__name__,
        "optimizer": type(optimizer).__module__ + "." + type(optimizer).__name__,
        "schedule": "constant" if schedule is None else type(schedule).__name__,
        "steps": steps,
        "micro_batches": micro,
        "parameters_sha256": sha256(export / "parameters.safetensors"),
        "batches_sha256": sha256(export / "batches.safetensors"),
        "losses": losses,
        "grad_norms": norms,
        "learning_rates": rates,
    }
    (fixture / "fixture.json").write_text(json.dumps(description, indent=2) + "\n")
    print(f"{fixture}: {steps} steps, loss {losses[0]:.6f} -> {losses[-1]:.6f}, "
          f"{sum(t.numel() for t in expected.values())} values")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export", type=Path, help="a folder written by `tessera export`")
    parser.add_argument("fixture", type=Path, help="where to write expected.safetensors and fixture.json")
    args = parser.parse_args()
    train(args.export, args.fixture)


if __name__ == "__main__":
    main()
