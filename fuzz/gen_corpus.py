#!/usr/bin/env python3
"""gen_corpus.py - writes the hand-made seed corpora, teeth inputs and dictionaries
of the harnesses (their byte formats are in decode.c, opdecode.c, program.c).
Run from anywhere: python3 fuzz/gen_corpus.py; commit what it writes."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# op name: (arity, elements per input). Ops this table does not know still get
# seeds: their inputs run out and decode as +0.
OPS = {
    "add": (2, [1, 1]), "sub": (2, [1, 1]), "mul": (2, [1, 1]), "div": (2, [1, 1]),
    "neg": (1, [1]), "exp": (1, [1]), "log": (1, [1]), "sqrt": (1, [1]), "tanh": (1, [1]),
    "relu": (1, [1]), "sum": (1, [20]), "mean": (1, [20]), "sum_axis": (1, [20]),
    "mean_axis": (1, [20]), "matmul": (2, [12, 8]),
}
# The shared thresholds, in decode.c's order (mode 2 picks among own hints first).
N_THRESHOLDS = 11
SPECIALS = 20  # entries of fz_special's table


def op_name(name):
    b = name.encode()
    return bytes([0x80 | len(b)]) + b


def uniform(lo, hi, x):
    """Mode 4: x in [lo, hi] on the decoder's 2^32 grid."""
    u = round((x - lo) / (hi - lo) * 4294967295)
    return bytes([4]) + struct.pack("<I", max(0, min(u, 4294967295)))


def special(i):
    return bytes([0, i])


def raw(x):
    return bytes([1]) + struct.pack("<d", x)


def small_int(k):
    return bytes([7, (k + 4) % 9])


def near(hint_index, ulps, negative=False):
    """Mode 2: hint number hint_index (own hints first), moved by ulps in [-4, 4]."""
    return bytes([2 | (0x10 if negative else 0), hint_index, (ulps + 4) % 9])


def op_case(name, flags=0, kink=0, gy_exp=0, values=()):
    return op_name(name) + bytes([flags, kink, (gy_exp + 8) % 17]) + b"".join(values)


def write(folder, name, data):
    path = os.path.join(HERE, folder)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)


DOMAINS = {"div": [(-10, 10), (0.25, 10)], "exp": [(-700, 700)], "log": [(1e-300, 1e300)],
           "sqrt": [(1e-300, 1e300)], "tanh": [(-20, 20)], "sum": [(0.5, 2)], "mean": [(0.5, 2)],
           "sum_axis": [(0.5, 2)], "mean_axis": [(0.5, 2)], "matmul": [(0.5, 2), (0.5, 2)]}


def fuzz_op():
    for name, (arity, counts) in OPS.items():
        dom = DOMAINS.get(name, [(-10, 10)] * 2)
        mid = [uniform(lo, hi, lo + (hi - lo) * 0.37) for lo, hi in dom]
        # inside the box: the promised bounds apply
        vals = [mid[i % len(mid)] * counts[i] for i in range(arity)]
        write("corpus/fuzz_op", f"{name}_in_box", op_case(name, values=vals))
        # zeros, ones and small integers everywhere: kinks and exact cases
        for k in (-1, 0, 1, 2):
            vals = [small_int(k) * counts[i] for i in range(arity)]
            write("corpus/fuzz_op", f"{name}_int_{k}", op_case(name, kink=2, values=vals))
        # each special value in the first input, a box value in the others
        for s in range(SPECIALS):
            vals = [special(s) * counts[0]] + [mid[i % len(mid)] * counts[i] for i in range(1, arity)]
            write("corpus/fuzz_op", f"{name}_special_{s:02d}", op_case(name, gy_exp=1, values=vals))
        # next to every shared threshold (+-1 ulp), first input
        for t in range(N_THRESHOLDS):
            for u in (-1, 1):
                vals = [near(2 + t, u) * counts[0]] + [mid[i % len(mid)] * counts[i] for i in range(1, arity)]
                write("corpus/fuzz_op", f"{name}_thr_{t:02d}_{'m' if u < 0 else 'p'}",
                      op_case(name, values=vals))
    # relu exactly on its kink with each tape setting; decoded shapes; attributes
    for kb, tag in ((0, "0"), (1, "1"), (2, "half"), (200, "0.78")):
        write("corpus/fuzz_op", f"relu_kink_grad_{tag}", op_case("relu", kink=kb, values=[special(0)]))
    write("corpus/fuzz_op", "relu_kink_neg_zero", op_case("relu", values=[special(1)]))
    write("corpus/fuzz_op", "add_broadcast_2x3_3",
          op_name("add") + bytes([3, 0, 8, 2, 2, 3, 1, 3]) + small_int(1) * 6 + small_int(2) * 3)
    write("corpus/fuzz_op", "matmul_shapes_2x0_0x3",
          op_name("matmul") + bytes([3, 0, 8, 2, 2, 0, 2, 0, 3]))
    write("corpus/fuzz_op", "sum_axis_attr_0", op_name("sum_axis") + bytes([4, 0, 8, 0, 4]) + small_int(1) * 20)
    write("corpus/fuzz_op", "sum_axis_attr_bad_5", op_name("sum_axis") + bytes([4, 0, 8, 0, 9]))
    write("corpus/fuzz_op", "mean_axis_shape_3d",
          op_name("mean_axis") + bytes([3, 0, 8, 3, 2, 1, 3]) + small_int(2) * 6)
    # teeth: plant_cube (planted only) at x = 1.375, inside its wrong region
    write("teeth", "fuzz_op_planted", op_case("plant_cube", values=[uniform(-2, 2, 1.375)]))


def prog_leaf(shape_index, values, kind=0):
    return bytes([kind, shape_index]) + b"".join(values)


def fuzz_program():
    def q(x):  # quarter steps in [-2, 2]: leaf byte b < 240 decodes to (b % 17 - 8) / 4
        return bytes([int(round(x * 4)) + 8])
    seeds = {
        # relu_at_zero byte, n_leaves byte (1 + b % 4), leaves, n_ops byte, ops...
        "relu_exp_scalar": bytes([0, 0]) + prog_leaf(0, [q(0.5)]) + bytes([1]) + op_name("relu")
        + op_name("exp") + bytes([0]) + bytes([8]),
        "relu_at_kink": bytes([200, 0]) + prog_leaf(0, [q(0)]) + bytes([0]) + op_name("relu") + bytes([8]),
        "fanout_mul_self": bytes([0, 0]) + prog_leaf(0, [q(1.5)]) + bytes([2]) + op_name("tanh")
        + op_name("mul") + bytes([0, 0]) + op_name("add") + bytes([0, 1]) + bytes([8]),
        "matmul_relu_sum": bytes([0, 1]) + prog_leaf(4, [q(x) for x in (1, -1, .5, 0, 2, -.25)])
        + prog_leaf(5, [q(x) for x in (.5, -.5, 1, 1.5, -2, .25)]) + bytes([2]) + op_name("matmul")
        + bytes([1, 0]) + op_name("relu") + bytes([0]) + op_name("mean") + bytes([0]) + bytes([8] * 12),
        "param_log_div": bytes([0, 1]) + prog_leaf(2, [q(1.25), q(.75)], kind=210)
        + prog_leaf(2, [q(.5), q(2)]) + bytes([2]) + op_name("sqrt") + bytes([1]) + op_name("div")
        + bytes([0, 1]) + op_name("log") + bytes([0]) + bytes([8] * 4),
        "broadcast_sub_sum_axis": bytes([0, 1]) + prog_leaf(4, [q(x) for x in (1, 2, -1, 0, .5, .25)])
        + prog_leaf(3, [q(x) for x in (1, -1, 0)]) + bytes([1]) + op_name("sub") + bytes([1, 0])
        + op_name("sum_axis") + bytes([1, 3, 0]) + bytes([8] * 9),
        "const_mixed": bytes([0, 1]) + prog_leaf(0, [q(.75)]) + prog_leaf(0, [q(-.5)], kind=240)
        + bytes([2]) + op_name("mul") + bytes([0, 1]) + op_name("exp") + bytes([0]) + op_name("neg")
        + bytes([0]) + bytes([8] * 2),
    }
    for name, data in seeds.items():
        write("corpus/fuzz_program", name, data)
    # teeth: plant_cube at 1.375 (uniform mode: a leaf byte >= 240, then 4 bytes)
    u = round((1.375 + 2) / 4 * 4294967295)
    write("teeth", "fuzz_program_planted", bytes([0, 0, 0, 0, 240]) + struct.pack("<I", u)
          + bytes([0]) + op_name("plant_cube") + bytes([8]))
    # fuzz_alloc: a schedule byte pair, then a program
    for i, (name, data) in enumerate(seeds.items()):
        for mode, arg in ((0, 0), (0, 3), (1, 2), (1, 9), (3, 5)):
            write("corpus/fuzz_alloc", f"{name}_m{mode}_{arg}", bytes([mode, arg]) + (bytes([arg + 1]) if mode == 3 else b"") + data)


# Every registry op name (ops/*.c), for the expression dictionary and seeds.
REGISTRY = ("abs add bce_with_logits celu clamp cos cross_entropy div dot dropout elu erf exp "
            "expm1 gelu gelu_tanh hardsigmoid hardswish hardtanh huber l1_loss l1_penalty "
            "l2_penalty layer_norm leaky_relu log log1p log_softmax logsigmoid logsumexp matmul "
            "max mean mean_axis min mish mse mul neg nll pow prelu relu relu6 selu sigmoid silu "
            "sin softmax softplus softsign sqrt square sub sum sum_axis tanh").split()
UNARY = ("abs celu cos elu erf exp expm1 gelu gelu_tanh hardsigmoid hardswish hardtanh "
         "leaky_relu log1p logsigmoid mish neg relu relu6 selu sigmoid silu sin softplus "
         "softsign square tanh").split()


def fuzz_expr():
    """Expressions (and leading NAME=VALUE lines) for fuzz_expr."""
    seeds = {
        "poly": "x*x*x - 2*x + 1",
        "sin_mul": "sin(x) * y",
        "pow_hex": "x^0x1.8p1 + y/3",
        "kink_relu": "x=0\nrelu(x) + abs(x)",
        "vector_sum": "v=[0.5, -1.25, 2]\nsum(tanh(v) * v)",
        "matrix": "m=[[1, 2], [3, 4]]\nsum(matmul(m, m))",
        "index": "v=[1, 2, 3]\nv[0] * v[2] + v[1]",
        "dot": "dot(v, w)",
        "log_exp": "log(exp(x) + 1)",
        "softmax": "v=[1, 2, 3]\nsum(log_softmax(v))",
        "losses": "a=[0.5, -1]\nb=[1, 0]\nmse(a, b) + huber(a, b)",
        "inf_const": "x * inf",
        "nan_const": "x + nan",
        "huge": "x=0x1.fffffffffffffp1023\nx * 2",
        "subnormal": "x=0x0.0000000000001p-1022\nsqrt(x) + x",
        "nested": "(((((x + 1)))))",
        "unary_chain": "- - + - x",
        "bad_char": "x $ y",
        "unclosed": "sin(x",
        "unknown_fn": "sine(x)",
        "long_name": "a" * 300,
        "long_number": "1" * 500,
        "too_deep": "(" * 300 + "x" + ")" * 300,
        "many_args": "max(" + ", ".join(["x"] * 70) + ")",
        "value_bad": "x=[1, \nx",
        "scalar_result_needed": "v=[1, 2]\nv * 2",
    }
    for i, name in enumerate(UNARY):
        seeds["fn_" + name] = "x=%s\n%s(x) * y" % ("0" if i % 3 == 0 else "0x1.8p-1" if i % 3 == 1 else "-2.5", name)
    # the planted op gets a seed like every op (an unknown function to the
    # plain harness): the teeth run starts where a user's own op would
    seeds["fn_plant_cube"] = "x=0x1.8p-1\nplant_cube(x) * y"
    for name, text in seeds.items():
        write("corpus/fuzz_expr", name, text.replace("\\n", "\n").encode())
    # teeth: plant_cube (fuzz_expr_planted registers it) where its backward is wrong
    write("teeth", "fuzz_expr_planted", b"x=1.375\nplant_cube(x) + y")


def fuzz_deepnet():
    """MLP settings for fuzz_deepnet: bytes as decode() in fuzz_deepnet.c reads them."""
    def net(depth, sizes, batch, hidden, output, act_param, init, scale_byte, scale_frac, bias, seed, xs):
        b = [depth - 1] + [w - 1 for w in sizes] + [batch - 1, hidden, output, act_param, init, scale_byte]
        if scale_byte:
            b.append(scale_frac)
        b += [bias, seed]
        data = bytes(b)
        for x in xs:  # raw-bit doubles (mode 1 of fz_double)
            data += bytes([1]) + struct.pack("<d", x)
        return data
    # fz_range(lo, hi) reads one byte b and gives lo + b % (hi - lo + 1); scale 2^(b % 41 - 20)
    seeds = {
        "shallow_relu": net(1, [2, 1], 1, 1, 0, 0, 0, 20, 0, 0, 1, [0.5, -1.0]),
        "tanh_3": net(3, [3, 4, 4, 1], 2, 2, 0, 0, 2, 20, 0, 0, 2, [0.25, -0.5, 1.0, 2.0, -1.5, 0.75]),
        "sigmoid_vanish_32": net(32, [2] * 33, 1, 5, 5, 0, 3, 18, 0, 0, 3, [1.0, -1.0]),
        "relu_explode_16": net(16, [4] * 17, 1, 1, 0, 0, 7, 24, 128, 0, 4, [1.0, 2.0, 3.0, 4.0]),
        "linear_64_big_scale": net(64, [1] * 65, 1, 0, 0, 0, 7, 26, 0, 0, 5, [1.0]),
        "zeros_init": net(2, [2, 2, 1], 1, 1, 0, 0, 1, 20, 0, 0, 6, [1.0, 1.0]),
        "elu_param": net(4, [2, 3, 3, 3, 1], 1, 4, 2, 200, 5, 20, 0, 0, 7, [-3.0, 0.0]),
        "leaky_bias": net(3, [2, 2, 2, 1], 2, 3, 0, 130, 4, 20, 0, 250, 8, [0.0, -0.0, 1e-300, -5.0]),
        "huge_input": net(2, [1, 2, 1], 1, 2, 0, 0, 2, 20, 0, 0, 9, [1e300]),
        "inf_input": net(2, [1, 2, 1], 1, 1, 0, 0, 2, 20, 0, 0, 10, [float("inf")]),
        "nan_input": net(1, [1, 1], 1, 0, 0, 0, 2, 20, 0, 0, 11, [float("nan")]),
        "overflow_scale": net(8, [2] * 9, 1, 0, 0, 0, 7, 40, 255, 0, 12, [1.0, 1.0]),
        "orthogonal": net(5, [3] * 6, 2, 2, 0, 0, 6, 20, 0, 0, 13, [0.5] * 6),
    }
    for name, data in seeds.items():
        write("corpus/fuzz_deepnet", name, data)


def dicts():
    os.makedirs(os.path.join(HERE, "dict"), exist_ok=True)
    names = [n for n in OPS] + ["plant_cube"]
    lines = ["# op names in the name mode of fz_pick_op: a length byte with the top bit set"]
    lines += ['op_%s="%s"' % (n, "".join("\\x%02x" % c for c in op_name(n))) for n in names]
    dbl = {"inf": float("inf"), "ninf": float("-inf"), "max": 1.7976931348623157e308,
           "min": 2.2250738585072014e-308, "tiny": 5e-324, "one": 1.0, "half": 0.5,
           "exp_max": 709.782712893384, "exp_min": -745.1332191019411}
    raw_lines = ["# raw-bit doubles after the mode byte 1"]
    raw_lines += ['raw_%s="\\x01%s"' % (k, "".join("\\x%02x" % c for c in struct.pack("<d", v)))
                  for k, v in dbl.items()]
    raw_lines.append('raw_nan="\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\xf8\\x7f"')
    for harness, extra in (("fuzz_op", raw_lines), ("fuzz_program", []), ("fuzz_alloc", [])):
        with open(os.path.join(HERE, "dict", harness + ".dict"), "w") as f:
            f.write("\n".join(lines + extra) + "\n")
    ex = ["# fuzz_expr: every registry op name, the language's operators and forms, numbers"]
    ex += ['fn_%s="%s("' % (n, n) for n in REGISTRY + ["plant_cube"]]  # plant_cube: the teeth build
    toks = ["+", "-", "*", "/", "^", "(", ")", "[", "]", ",", "=", "\\x0a", "inf", "nan", "-inf",
            "0x1p-1074", "0x1.fffffffffffffp1023", "0x1p-1022", "0x1.8p3", "1e308", "1e-320", "0.5",
            "709.78", "-745.13", "x", "y", "v", "m", "x=", "v=[", "m=[[", "dot(", "neg(", "0x"]
    ex += ['tok%d="%s"' % (i, t) for i, t in enumerate(toks)]
    with open(os.path.join(HERE, "dict", "fuzz_expr.dict"), "w") as f:
        f.write("\n".join(ex) + "\n")
    dn = ["# fuzz_deepnet: raw-bit doubles (mode byte 1), activation and init bytes"]
    dn += raw_lines[1:]
    dn += ['act%d="\\x%02x"' % (i, i) for i in range(6)]
    with open(os.path.join(HERE, "dict", "fuzz_deepnet.dict"), "w") as f:
        f.write("\n".join(dn) + "\n")


if __name__ == "__main__":
    fuzz_op()
    fuzz_program()
    fuzz_expr()
    fuzz_deepnet()
    dicts()
