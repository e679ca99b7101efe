#!/usr/bin/env python3
"""test_cli.py - runs the built `adcheck` binary: exit codes, text and JSON output, hostile input.

usage: test_cli.py PATH_TO_ADCHECK GROUP   (GROUP: grad, ops, selftest, hunt, hostile)
Expected numbers are derived by hand or with Python's math module, never
copied from the program's output.
"""
import json
import math
import random
import shlex
import subprocess
import sys

ADCHECK = sys.argv[1]
failures = []


def run(args, stdin=None, timeout=120):
    p = subprocess.run([ADCHECK] + args, input=stdin, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def close(got, want, rel=1e-15, what=""):
    ok = isinstance(got, (int, float)) and abs(got - want) <= rel * max(1.0, abs(want))
    check(ok, f"{what}: got {got!r}, want {want!r}")


def parse_json(out, what):
    try:
        return json.loads(out)
    except ValueError as e:
        check(False, f"{what}: output is not JSON ({e}): {out[:200]!r}")
        return None


# ---------------------------------------------------------------- grad
def group_grad():
    # x*x + relu(y) at x=3, y=0: value 9, d/dx = 2x = 6, y sits on relu's kink.
    rc, out, err = run(["grad", "x*x + relu(y)", "x=3", "y=0"])
    check(rc == 0, f"grad relu text: exit {rc}, stderr {err!r}")
    check(out.startswith("value 9\n"), f"grad text value line: {out!r}")
    lines = {l.split()[0]: l.split() for l in out.splitlines() if l and l.split()[0] in ("x", "y")}
    check(lines.get("x", [None, None])[1] == "6", f"grad text gradient of x: {lines.get('x')}")
    check(lines.get("y", [None, None])[1] == "0", f"grad text gradient of y: {lines.get('y')}")
    check("relu at node" in out and "sits on its kink" in out and "one-sided derivatives 0 and 1" in out
          and "the tape's choice 0 is a valid subgradient" in out, f"grad text kink words: {out!r}")
    check(out.rstrip().endswith("verdict: PASS"), f"grad text verdict: {out!r}")

    # x*y + exp(x) at x=0.5, y=2: value x*y + e^x, d/dx = y + e^x, d/dy = x.
    rc, out, err = run(["grad", "--json", "x*y + exp(x)", "x=0.5", "y=2"])
    check(rc == 0, f"grad json: exit {rc}, {err!r}")
    j = parse_json(out, "grad json")
    if j:
        close(j["value"], 1.0 + math.exp(0.5), 1e-15, "json value")
        close(j["gradient"]["x"], 2.0 + math.exp(0.5), 1e-15, "json d/dx")
        close(j["gradient"]["y"], 0.5, 0, "json d/dy")
        close(j["reference"]["x"], 2.0 + math.exp(0.5), 1e-15, "json reference d/dx")
        check(j["pass"] is True, "json pass")
        check(j["expr"] == "x*y + exp(x)", "json expr")
        for w in ("fd", "mpfr", "dot"):
            check(j["checks"][w]["pass"] is True and isinstance(j["checks"][w]["max_error"], (int, float)),
                  f"json checks.{w}: {j['checks'].get(w)}")
        check(j["kinks"] == [], "json kinks empty for a smooth program")

    # relu kink in JSON, with the tape setting changed to 0.5 (a valid subgradient).
    for g0 in ("0", "0.5", "1"):
        rc, out, err = run(["grad", "--json", "--relu-at-zero", g0, "relu(y) + x", "x=1", "y=0"])
        j = parse_json(out, "grad json kink")
        check(rc == 0, f"relu at zero {g0}: exit {rc} {err!r}")
        if j:
            k = j["kinks"]
            check(len(k) == 1 and k[0]["op"] == "relu" and k[0]["variable"] == "y" and k[0]["left"] == 0
                  and k[0]["right"] == 1 and k[0]["chosen"] == float(g0) and isinstance(k[0]["node"], int)
                  and k[0]["judged"] is True,
                  f"json kink record for relu'(0) = {g0}: {k}")
            close(j["gradient"]["y"], float(g0), 0, "gradient at the kink is the tape setting")
            check(j["pass"] is True, f"relu'(0) = {g0} passes")

    # a kink the replay cannot judge: x^-2 + 2x at x = 2^-81 (d/dx = -2^244 by hand), whose
    # double FD step crosses abs's kink while the replay holds 3^100110 and cancels
    expr = "abs(x) * abs(x)**xx + x + x*1**(xx**100110)"
    rc, out, err = run(["grad", expr, "x=0x1p-81", "xx=-3"])
    check(rc == 0 and "abs at node 2 crosses its kink within the difference step (along x): not judged, "
          "the MPFR one-sided difference cancels" in out, f"grad text unjudged kink: {rc} {out!r}")
    rc, out, err = run(["grad", "--json", expr, "x=0x1p-81", "xx=-3"])
    j = parse_json(out, "grad json unjudged kink")
    if j:
        k = j["kinks"]
        check(len(k) == 1 and k[0]["variable"] == "x" and k[0]["judged"] is False and k[0]["valid"] is False
              and j["gradient"]["x"] == -2.0**244 and j["pass"] is True, f"json unjudged kink: {k}")

    # a vector variable gives an array: d/dv dot(v, v) = 2v; d/dv sum(v)/3 ... mean
    rc, out, err = run(["grad", "--json", "dot(v, v) + mean(v)", "v=[1, 2, 3]"])
    j = parse_json(out, "grad json vector")
    if j:
        close(j["value"], 14 + 2, 0, "dot(v,v) + mean(v)")
        got = j["gradient"]["v"]
        check(isinstance(got, list) and len(got) == 3, f"vector gradient is an array: {got}")
        if isinstance(got, list) and len(got) == 3:
            for k, vk in enumerate([1, 2, 3]):
                close(got[k], 2 * vk + 1 / 3, 1e-15, f"d/dv[{k}]")

    # a matrix variable: d/dA sum(A B) = B^T per row, d/dB = column sums of A
    rc, out, err = run(["grad", "--json", "sum(matmul(A, B))", "A=[[1, 2], [3, 4]]", "B=[[1], [-1]]"])
    j = parse_json(out, "grad json matrix")
    check(rc == 0, f"matrix grad: exit {rc} {err!r}")
    if j:
        close(j["value"], (1 - 2) + (3 - 4), 0, "sum(A B)")
        check(j["gradient"]["A"] == [[1, -1], [1, -1]], f"d/dA: {j['gradient']['A']}")
        check(j["gradient"]["B"] == [[1 + 3], [2 + 4]], f"d/dB: {j['gradient']['B']}")
    expect_usage(["grad", "sum(A)", "A=[[1, 2], [3]]"], "every row of a matrix")

    # non-finite numbers are strings: log(0) = -inf, d/dx = 1/x = inf
    rc, out, err = run(["grad", "--json", "log(x)", "x=0"])
    j = parse_json(out, "grad json non-finite")
    check(rc in (0, 1), f"log(0): exit {rc}")
    if j:
        check(j["value"] == "-inf", f"log(0) value as a string: {j['value']!r}")
        check(j["gradient"]["x"] == "inf", f"1/0 as a string: {j['gradient']['x']!r}")

    # a wrong gradient would exit 1; a correct one with EXPR from stdin exits 0
    rc, out, err = run(["grad", "-", "x=2"], stdin=b"x^3 -\n  2*x\n")
    check(rc == 0 and "value 4\n" in out, f"EXPR from stdin: {rc} {out!r} {err!r}")
    lines = {l.split()[0]: l.split() for l in out.splitlines() if l.startswith("x ")}
    check(lines.get("x", [0, 0])[1] == "10", f"d/dx (x^3 - 2x) = 3x^2 - 2 = 10: {lines.get('x')}")

    # options may follow the positionals; after "--" everything is positional
    rc, out, err = run(["grad", "-x^2", "x=3", "--json"])
    j = parse_json(out, "options after positionals")
    check(rc == 0 and j and j["value"] == -9 and j["gradient"]["x"] == -6, f"-x^2 at 3 with --json last: {out!r}")
    rc, out, err = run(["grad", "--", "--x", "x=2"])
    check(rc == 0 and out.startswith("value 2\n"), f"'--' then an EXPR starting with '--': {out!r} {err!r}")

    rc, out, err = run(["grad", "--fast", "--seed", "7", "sum(v*v)", "v=[1,2,3,4]"])
    check(rc == 0 and "fast mode" in out, f"--fast: {rc} {out!r}")


# ---------------------------------------------------------------- ops
def group_ops():
    rc, out, err = run(["ops"])
    check(rc == 0, f"ops exit {rc}")
    check("relu(x) = max(0, x)" in out, "ops text names relu with its math")
    check("kink at 0: one-sided derivatives 0 and 1" in out, "ops text gives relu's kink")
    rc, out, err = run(["ops", "--json"])
    j = parse_json(out, "ops json")
    if j:
        names = [o["name"] for o in j["ops"]]
        for n in ("add", "sub", "mul", "div", "neg", "exp", "log", "sqrt", "tanh", "relu", "sum", "mean",
                  "sum_axis", "mean_axis", "matmul", "index", "place"):
            check(n in names, f"ops json lists {n}")
        relu = next((o for o in j["ops"] if o["name"] == "relu"), None)
        if relu:
            k = relu["kinks"]
            check(relu["arity"] == 1 and len(k) == 1 and k[0]["at"] == 0 and k[0]["left"] == 0
                  and k[0]["right"] == 1 and k[0]["choice"] is None and k[0]["tape_setting"] is True,
                  f"ops json relu: {relu}")
        sa = next((o for o in j["ops"] if o["name"] == "sum_axis"), None)
        if sa:
            check(len(sa["attributes"]) == 1 and isinstance(sa["attributes"][0]["default"], (int, float)),
                  f"ops json sum_axis attribute: {sa['attributes']}")
    rc, out, err = run(["ops", "--markdown"])
    check(rc == 0 and out.startswith("| op | math |") and "| `relu` |" in out, "ops markdown table")
    rc, out, err = run(["ops", "extra"])
    check(rc == 2, "ops takes no arguments")


# ---------------------------------------------------------------- selftest
def group_selftest():
    rc, out, err = run(["selftest", "--op", "relu", "--samples", "50"])
    check(rc == 0, f"selftest relu: exit {rc} {out!r} {err!r}")
    rows = [l.split() for l in out.splitlines() if l.startswith("relu ")]
    check(len(rows) == 1 and rows[0][-1] == "pass", f"selftest relu row: {rows}")
    check("1 op verified, 0 failed" in out, "selftest summary")
    rc, out, err = run(["selftest", "--json", "--op", "exp", "--samples", "50", "--seed", "3"])
    j = parse_json(out, "selftest json")
    if j:
        check(j["run"] == 1 and j["failed"] == 0 and j["pass"] is True, f"selftest json summary: {j}")
        o = j["ops"][0]
        check(o["op"] == "exp" and o["samples"] >= 50 and len(o["forward"]["at"]) == 1
              and o["forward"]["ulps"] <= 1, f"selftest json exp: {o}")
    # shards split the registry: 1/2 and 2/2 together run every op exactly once
    seen = []
    for s in ("1/2", "2/2"):
        rc, out, err = run(["selftest", "--json", "--samples", "5", "--shard", s])
        j = parse_json(out, "selftest shard")
        if j:
            seen += [o["op"] for o in j["ops"]]
    rc, out, err = run(["ops", "--json"])
    j = parse_json(out, "ops json")
    if j:
        check(sorted(seen) == sorted(o["name"] for o in j["ops"]), f"shards cover every op once: {seen}")
    for bad in (["--shard", "3/2"], ["--shard", "0/2"], ["--shard", "x"], ["--op", "rleu"], ["--samples", "0"]):
        rc, out, err = run(["selftest"] + bad)
        check(rc == 2, f"selftest {bad}: exit {rc}")
    rc, out, err = run(["selftest", "--op", "rleu"])
    check("did you mean 'relu'?" in err, f"selftest suggests: {err!r}")


# ---------------------------------------------------------------- hunt
def group_hunt():
    # A clean program on a small box: nothing found, exit 0, and the same seed gives the same report.
    args = ["hunt", "--json", "--samples", "30", "--seed", "5", "x*y + tanh(x)", "x=1:2", "y=1:3"]
    rc, out, err = run(args)
    check(rc == 0, f"hunt clean: exit {rc} {out!r} {err!r}")
    j = parse_json(out, "hunt json")
    if j:
        check(j["problem"] is False and j["check_failed"] is None and j["nonfinite"] is None
              and j["exploding"] is None, f"hunt clean finds nothing: {j}")
        check(j["points"] >= 30, "hunt ran at least the samples")
        check(isinstance(j["gradient"]["ulps"], (int, float)) and j["gradient"]["ulps"] < 8,
              f"hunt worst gradient ulps is small: {j['gradient']}")
        at = j["gradient"]["at"]
        check(1 <= at["x"] <= 2 and 1 <= at["y"] <= 3, f"hunt points stay in the box: {at}")
    rc2, out2, _ = run(args)
    check(out2 == out, "hunt is deterministic for a seed")
    check(err == "", f"no progress on stderr when it is not a terminal: {err!r}")
    # a different seed samples different points
    rc3, out3, _ = run(args[:4] + ["6"] + args[5:])
    check(out3 != out, "another seed, another search")
    # --time stops a long run, and says so
    rc, out, err = run(["hunt", "--json", "--time", "0.2", "--samples", "100000000", "x*x", "x=-1:1"], timeout=60)
    j = parse_json(out, "hunt --time")
    check(j is not None and j["timed_out"] is True and rc in (0, 1), f"hunt --time: {rc} {out[:200]!r}")
    rc, out, err = run(["hunt", "sum(v)", "v=[1,2]:3"])
    check(rc == 2 and "scalar variables only" in err, f"hunt vector variable: {rc} {err!r}")

    # exp(x) - exp(x) + x overflows to inf - inf = NaN above ln(DBL_MAX) ~ 709.78,
    # while the exact value is x: hunt must find it, exit 1, and give a reproducer.
    rc, out, err = run(["hunt", "--json", "--samples", "20", "exp(x) - exp(x) + x", "x=700:720"])
    check(rc == 1, f"hunt overflow: exit {rc} {err!r}")
    j = parse_json(out, "hunt overflow json")
    if j and j["nonfinite"]:
        x = j["nonfinite"]["at"]["x"]
        check(x > math.log(sys.float_info.max) - 1e-9, f"the NaN is past the overflow threshold: {x}")
        cmd = shlex.split(j["nonfinite"]["reproduce"])
        check(cmd[:2] == ["adcheck", "grad"], f"reproducer is a grad command: {cmd}")
        rc, out, err = run(cmd[1:])
        check(rc in (0, 1) and "value nan" in out.replace("-nan", "nan"), f"reproducer gives NaN: {out!r}")
    else:
        check(False, f"hunt overflow found no NaN: {out!r}")
    rc, out, err = run(["hunt", "x", "x=2:1"])
    check(rc == 2 and "LO <= HI" in err, f"hunt inverted box: {rc} {err!r}")
    rc, out, err = run(["hunt", "x", "x=1"])
    check(rc == 2 and "NAME=LO:HI" in err, f"hunt box without colon: {rc} {err!r}")


# ---------------------------------------------------------------- hostile input
def expect_usage(args, want, stdin=None, what=None):
    rc, out, err = run(args, stdin=stdin)
    what = what or " ".join(a[:30] for a in args)
    check(rc == 2, f"{what}: exit {rc} (want 2; negative is a signal) stderr {err[:300]!r}")
    check(want in err, f"{what}: stderr lacks {want!r}: {err[:300]!r}")
    check(err.count("adcheck") >= 1 and err.count("error") <= 2, f"{what}: one clear message: {err[:300]!r}")
    check(out == "", f"{what}: nothing on stdout: {out[:100]!r}")
    return err


def group_hostile():
    expect_usage(["grad", "", "x=1"], "the expression is empty")
    expect_usage(["grad", "-"], "nesting deeper than 256", stdin=b"(" * 10**6)
    expect_usage(["grad", "-"], "this name has 1000000 characters; the limit is 255", stdin=b"a" * 10**6)
    expect_usage(["grad", "-"], "the limit is 1048576 bytes", stdin=b" " * (2 << 20))
    expect_usage(["grad", "1e999 * x", "x=1"], "overflows a double")
    expect_usage(["grad", "x", "x=1e999"], "overflows a double")
    rng = random.Random(42)
    for k in range(20):
        garbage = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        rc, out, err = run(["grad", "-", "x=1"], stdin=garbage)
        check(rc == 2, f"garbage {k}: exit {rc} {err[:200]!r}")
        check("adcheck: error:" in err, f"garbage {k}: message {err[:200]!r}")
    expect_usage(["grad", "x + \xc3(", "x=1"], "unexpected byte 0xc3")
    expect_usage(["grad", "x + y", "x=1"], "the variable 'y' has no value")
    expect_usage(["grad", "x + 1", "x=1", "x=2"], "the variable 'x' is given twice")
    expect_usage(["grad", "x", "x=1", "y=2"], "'y' is given a value but the expression does not use it")
    expect_usage(["grad", "v", "v=[1, 2]"], "must be a scalar")
    expect_usage(["grad", "exp(v) + 1", "v=[1, 2]"], "must be a scalar")
    expect_usage(["grad", "x[0]", "x=1"], "only a vector can be indexed")
    expect_usage(["grad", "--bogus", "x", "x=1"], "unknown option '--bogus'")
    expect_usage(["grad", "--prec", "10", "x", "x=1"], "--prec wants an integer from 64 to 4096")
    expect_usage(["grad", "--relu-at-zero", "2", "x", "x=1"], "--relu-at-zero wants a number from 0 to 1")
    expect_usage(["grad", "x", "x=abc"], "must be a number")
    expect_usage(["grad", "x", "x"], "NAME=VALUE")
    expect_usage(["grad"], "needs an expression")
    expect_usage(["frobnicate"], "unknown command 'frobnicate'")
    expect_usage(["--bogus"], "unknown option '--bogus'")
    expect_usage([], "usage: adcheck COMMAND")
    # 257 nested parentheses: the depth limit at the column of the 257th
    err = expect_usage(["grad", "(" * 257 + "x" + ")" * 257, "x=1"], "nesting deeper than 256 levels")
    check("at column 257" in err, f"depth error names column 257: {err[:200]!r}")
    # unknown function: the column, the line, a caret under it, the suggestion
    err = expect_usage(["grad", "1 + tahn(x)", "x=1"], "unknown function 'tahn' at column 5")
    lines = err.splitlines()
    check(len(lines) >= 4 and lines[1] == "  1 + tahn(x)" and lines[2] == "      ^"
          and lines[3] == "  did you mean 'tanh'?", f"caret and suggestion: {lines}")
    # the other commands' options and values: exit 2, never a signal
    expect_usage(["ops", "--bogus"], "unknown option '--bogus'")
    expect_usage(["hunt", "--bogus", "x", "x=1:2"], "unknown option '--bogus'")
    expect_usage(["selftest", "--bogus"], "unknown option '--bogus'")
    expect_usage(["selftest", "--samples", "9" * 30], "--samples wants an integer from 1 to 100000000")
    expect_usage(["selftest", "--seed", "-1"], "--seed wants an integer from 0 to 18446744073709551615")
    expect_usage(["hunt", "--samples", "-3", "x", "x=1:2"], "--samples wants an integer from 0 to 100000000")
    expect_usage(["grad", "--prec"], "the option --prec needs a value")
    expect_usage(["selftest", "--op", "nosuchop"], "no op named 'nosuchop'")
    expect_usage(["hunt", "x", "x=1e999:2"], "overflows a double")
    expect_usage(["hunt", "x", "x=nan:1"], "the box of 'x' must be finite numbers LO <= HI")
    expect_usage(["grad", "x", "x=[1e999]"], "overflows a double")
    # invalid UTF-8 in a variable's name and in its value (argv bytes, not text)
    expect_usage([b"grad", b"x", b"\xff=1", b"x=1"], "a variable's name is letters, digits and '_'",
                 what="name 0xff")
    expect_usage([b"grad", b"x", b"x=\xc3\x28"], "unexpected byte 0xc3", what="value 0xc3")
    # a 10^5-character name given a value (one argv string is limited to 128 KiB;
    # the 10^6-character name goes through stdin above); a vector where an attribute (a scalar) is expected
    expect_usage(["grad", "x", "a" * 10**5 + "=1", "x=1"], "the limit is 255", what="10^5-char NAME=")
    expect_usage(["grad", "leaky_relu(x, v)", "x=1", "v=[1, 2]"],
                 "the attribute 'slope' of leaky_relu must be a constant number")
    # help and version
    for cmd in ("grad", "ops", "selftest", "hunt"):
        rc, out, err = run([cmd, "--help"])
        check(rc == 0 and out.startswith("usage: adcheck " + cmd), f"{cmd} --help")
    rc, out, err = run(["--version"])
    check(rc == 0 and out.startswith("adcheck "), "--version")


# ---------------------------------------------------------------- memcheck
def group_memcheck():
    """Every kind of run once under valgrind: no invalid access, no leak, the usual exit status."""
    import shutil
    if not shutil.which("valgrind"):
        print("valgrind not found: skipped")
        sys.exit(77)
    vg = ["valgrind", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
          "--quiet"]
    # This valgrind may not read the binary (clang's DWARF 5 on an older valgrind): skip, not fail.
    p = subprocess.run(vg + [ADCHECK, "--version"], capture_output=True, timeout=300)
    if p.returncode != 0:
        print("valgrind cannot run this binary: skipped;", p.stderr.decode("utf-8", "replace")[-300:])
        sys.exit(77)
    cases = [
        (["grad", "x*x + relu(y)", "x=3", "y=0"], None, 0),
        (["grad", "--json", "dot(v, v) + v[1] + sum([x, 2])", "v=[1, 2]", "x=1"], None, 0),
        (["grad", "sum(matmul(A, B))", "A=[[1, 2], [3, 4]]", "B=[[1], [-1]]"], None, 0),
        (["ops", "--json"], None, 0),
        (["selftest", "--op", "relu", "--samples", "10"], None, 0),
        (["hunt", "--samples", "6", "x*y", "x=1:2", "y=1:2"], None, 0),
        (["grad", "-", "x=1"], b"(" * 100000, 2),
        (["grad", "-", "x=1"], bytes(range(256)), 2),
        (["grad", "1 + tahn(x)", "x=1"], None, 2),
        (["grad", "v + [1, 2, 3]", "v=[1, 2]"], None, 2),
        (["grad", "x", "x=1", "x=2"], None, 2),
        (["grad", "sum(A)", "A=[[1, 2], [3]]"], None, 2),
        (["hunt", "x", "x=2:1"], None, 2),
        (["grad", "--bogus"], None, 2),
    ]
    for args, stdin, want in cases:
        p = subprocess.run(vg + [ADCHECK] + args, input=stdin, capture_output=True, timeout=300)
        check(p.returncode == want, f"valgrind {args[:3]}: exit {p.returncode} (want {want}; 99 is a "
                                    f"memcheck finding): {p.stderr.decode('utf-8', 'replace')[-600:]!r}")


groups = {"memcheck": group_memcheck, "grad": group_grad, "ops": group_ops, "selftest": group_selftest, "hunt": group_hunt,
          "hostile": group_hostile}
groups[sys.argv[2]]()
print(f"{sys.argv[2]}: {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
