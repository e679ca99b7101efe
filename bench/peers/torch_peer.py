#!/usr/bin/env python3
"""bench/peers/torch_peer.py - the workloads of bench/tape_chain,
bench/mlp_step and bench/check_mlp in PyTorch (CPU, float64, one thread), when
torch is installed.

Prints `bench: torch_NAME VALUE UNIT` lines (process CPU time, medians of
several blocks). bench/peers/compare.py runs it with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE removed from its environment only (this machine sets them,
which slows PyTorch's BLAS); the core OpenBLAS picked is printed when known.
"""
import os
import sys
import time


def cpu():
    return time.process_time()


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def chain(torch, n_ops, arith):
    """0-d tensors with requires_grad: the operator-overloading peer of the tape."""
    x = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    v = x
    if arith:
        for _ in range(n_ops // 3):
            v = torch.relu(v * 0.999 + 0.0005)
    else:
        for _ in range(n_ops // 5):
            v = torch.exp(torch.relu(torch.tanh(v * 0.999 + 0.001))) - 0.9
    v.backward()
    return x.grad.item()


def mlp_step_time(torch, sizes, batch, classify, steps, blocks=7):
    torch.manual_seed(42)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b, dtype=torch.float64), torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    x = torch.rand(batch, sizes[0], dtype=torch.float64) * 2 - 1
    if classify:
        y = torch.randint(0, sizes[-1], (batch,))
        loss_fn = torch.nn.functional.cross_entropy
    else:
        y = torch.rand(batch, sizes[-1], dtype=torch.float64)
        loss_fn = torch.nn.functional.mse_loss
    per = []
    for _ in range(blocks):
        t0 = cpu()
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
        per.append((cpu() - t0) / steps)
    return median(per)


def gradcheck_times(torch, fast_reps=9):
    """torch.autograd.gradcheck of bench/check_mlp's program (2 -> 64 -> 64 -> 1
    tanh, batch 64, MSE, 4417 parameters): once per coordinate, and the median
    of fast_reps fast-mode (one random direction) checks."""
    torch.manual_seed(42)
    f64 = torch.float64

    def p(*shape, scale):
        return ((torch.rand(*shape, dtype=f64) * 2 - 1) * scale).requires_grad_()

    params = (p(2, 64, scale=0.7), p(64, scale=0.1), p(64, 64, scale=0.18), p(64, scale=0.1),
              p(64, 1, scale=0.18), p(1, scale=0.1))
    x = torch.rand(64, 2, dtype=f64) * 2 - 1
    y = torch.sin(3 * x[:, :1]) * x[:, 1:]

    def loss(w1, b1, w2, b2, w3, b3):
        h = torch.tanh(x @ w1 + b1)
        h = torch.tanh(h @ w2 + b2)
        return ((h @ w3 + b3 - y) ** 2).mean()

    t0 = cpu()
    ok = torch.autograd.gradcheck(loss, params, fast_mode=False)
    coord = cpu() - t0
    per = []
    for _ in range(fast_reps):
        t0 = cpu()
        ok &= torch.autograd.gradcheck(loss, params, fast_mode=True)
        per.append(cpu() - t0)
    return coord, median(per), ok


def main():
    try:
        import torch
    except ImportError:
        print("# torch: not installed (apt-get install python3-torch), skipped")
        return 0
    torch.set_num_threads(1)
    core = os.environ.get("OPENBLAS_CORETYPE", "(unset: OpenBLAS detects the core)")
    print(f"# torch {torch.__version__}, 1 thread, OPENBLAS_CORETYPE {core}")
    try:
        cfg = torch.__config__.show()
        print("# " + " ".join(l.strip() for l in cfg.splitlines() if "BLAS" in l)[:200])
    except Exception:  # the configuration text is a nicety
        pass
    n = int(os.environ.get("TORCH_CHAIN_OPS", "60000"))  # 0-d tensors are slow: a shorter chain
    for name, arith in (("tape_chain", False), ("tape_chain_arith", True)):
        per = []
        for _ in range(3):
            t0 = cpu()
            chain(torch, n, arith)
            per.append((cpu() - t0) / n)
        print(f"bench: torch_{name}_ns_per_op {1e9 * median(per):.2f} ns")
    m1 = mlp_step_time(torch, [2, 64, 64, 1], 64, False, 100)
    print(f"bench: torch_mlp_step_M1 {1e6 * m1:.1f} us")
    m2 = mlp_step_time(torch, [784, 128, 10], 32, True, 50)
    print(f"bench: torch_mlp_step_M2 {1e6 * m2:.1f} us")
    coord, fast, ok = gradcheck_times(torch)
    print(f"# gradcheck of check_mlp's program: {'pass' if ok else 'FAIL'}")
    print(f"bench: torch_fd_per_coordinate {coord:.3f} s")
    print(f"bench: torch_fd_fast_1_direction {fast:.6f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
