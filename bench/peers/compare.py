#!/usr/bin/env python3
"""bench/peers/compare.py BUILD_DIR - runs adcheck's benchmarks and every
installed peer in one run and prints adcheck's time / the peer's time, pair by
pair, as `bench: vs_PEER_NAME VALUE x` (below 1: adcheck is faster). A missing
peer is a note, never a failure."""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LINE = re.compile(r"^bench: (\S+) (\S+) (\S+)$")


def run(cmd, env=None):
    """Echoes a command's output and returns its figures {name: value}."""
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900).stdout
    except (OSError, subprocess.SubprocessError) as e:
        print(f"# {cmd[0]}: {e}")
        return {}
    figs = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            print(line)
            figs[m.group(1)] = float(m.group(2))
        elif line.startswith("#"):
            print(line)
    return figs


def torch_python():
    """An interpreter that can import torch: Debian's python3-torch is built for
    /usr/bin/python3, which need not be the python3 on PATH."""
    for py in (sys.executable, "/usr/bin/python3"):
        try:
            if subprocess.run([py, "-c", "import torch"], capture_output=True, timeout=120).returncode == 0:
                return py
        except (OSError, subprocess.SubprocessError):
            pass
    return sys.executable  # torch_peer.py then prints its "not installed" note


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    ours = {}
    for exe in ("tape_chain", "mlp_step", "check_mlp"):
        ours.update(run([os.path.join(build, "bench", exe)]))
    peer_env = dict(os.environ)
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # for the peer's run only
        peer_env.pop(var, None)
    peers = {
        "torch": run([torch_python(), os.path.join(HERE, "torch_peer.py")], env=peer_env),
        "adolc": run(["bash", os.path.join(HERE, "adolc.sh")]),
    }
    for peer, figs in peers.items():
        for name, value in figs.items():
            base = name[len(peer) + 1:]
            if base in ours and value > 0:
                print(f"bench: vs_{peer}_{base} {ours[base] / value:.3f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
