#!/usr/bin/env python3
"""The memory manager's cgroup v2 path, proved in CI on any host.

test_memory_pressure (test-slated.c) builds its small device on the host's cgroup v1 memory
hierarchy, as CI's machines have. The v2 path (the tripwire on memory.high, memory.min for the
foreground app, the device limit's hits) needs a cgroup v2 machine: this test boots one, the QEMU
guest of bench/memory.sh (Debian's kernel, cgroup v2, software emulation), and runs the same load
there under slated twice: on a 512 MiB device (a v2 group with memory.max) and on the whole 1 GiB
machine (MemAvailable, no limit). Three apps hold 3/16 of the device each, the older two cached and
frozen; then a foreground app grows to 10/16 of it, so something must give.

It asserts, for each run: the foreground app survived; every app that died was killed by slated
(the kernel's OOM killer never acted); the victims went least recently used first, each trimmed
before it was killed; slated said memory was short before its first kill.

    test-pressure-guest.py BUILD_DIR SOURCE_DIR
"""
import os
import re
import shutil
import subprocess
import sys

RUNS = {"slated-confined": "guest-slated-confined", "slated": "guest-slated"}
BUDGET_RUN = "guest-slated-budget"  # the foreground app past its own budget, one background app
HOARDS = ["org.app1.hoard", "org.app2.hoard", "org.app3.hoard"]
FRONT = "org.front.grow"


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def run_lines(console, name):
    """The app, log and result lines of one run: those before its result line, after the previous one."""
    block = []
    for line in console.splitlines():
        if line.startswith("result "):
            if line.split()[1] == f"name={name}":
                return block, dict(kv.split("=", 1) for kv in line.split()[2:])
            block = []
        elif line.startswith(("app ", "log ")):
            block.append(line)
    fail(f"{name}: no result line (the guest's console is kept in the work folder)")


def check_run(console, name):
    lines, result = run_lines(console, name)
    print(f"{name}: " + " ".join(f"{k}={result[k]}" for k in
                                  ("kills", "manager_kills", "oom_kills", "fg", "fg_full_ms", "relief_ms")))
    if result["fg"] != "survived":
        fail(f"{name}: the foreground app did not survive ({result['fg']})")
    kills, by_manager = int(result["kills"]), int(result["manager_kills"])
    if kills < 1:
        fail(f"{name}: nothing died, though the load does not fit the device")
    if by_manager != kills or int(result["oom_kills"]) != 0:
        fail(f"{name}: the kernel's OOM killer acted ({kills} died, {by_manager} by slated, "
             f"oom_kill {result['oom_kills']})")

    # slated's own lines ("slated[PID] slated: ID: killing it (...)"), in the order it said them.
    said = [re.sub(r"^log t_ms=\S+ ", "", l) for l in lines if l.startswith("log ")]
    killed = [m.group(1) for l in said for m in [re.match(r"slated\[\d+\] slated: (\S+): killing it", l)] if m]
    if FRONT in killed:
        fail(f"{name}: slated killed the foreground app")
    if killed != HOARDS[:len(killed)]:
        fail(f"{name}: not least recently used first: {killed}")
    if len(killed) != kills:
        fail(f"{name}: {kills} apps died, slated said it killed {killed}")
    first_kill = next(i for i, l in enumerate(said) if ": killing it" in l)
    if not any(re.search(r"slated: memory: short", l) for l in said[:first_kill]):
        fail(f"{name}: no 'memory: short' before the first kill")
    for app in killed:
        trim = next((i for i, l in enumerate(said) if l.startswith("slated[") and f": {app}: trim-memory" in l), None)
        kill = next(i for i, l in enumerate(said) if l.startswith("slated[") and f": {app}: killing it" in l)
        if trim is None or trim > kill:
            fail(f"{name}: {app} was killed without a trim before it")
    if name == RUNS["slated"]:
        # The whole machine: the page-allocation watch (eBPF) gave the word before anyone paid for it.
        if not any("memory: manager on (" in l and "page-allocation watch" in l for l in said):
            fail(f"{name}: slated ran without its page-allocation watch")
        timed = [(float(m.group(1)), m.group(2)) for l in lines for m in [re.match(r"log t_ms=(-?[\d.]+) (.*)", l)] if m]
        first_kill_t = next(t for t, l in timed if ": killing it" in l)
        if not any(0 <= t < first_kill_t and "memory: free pages fell below" in l for t, l in timed):
            fail(f"{name}: the page-allocation watch did not wake slated before its first kill")
    for l in lines:
        if l.startswith(f"app {FRONT} ") and "state=foreground" not in l:
            fail(f"{name}: the foreground app ended as: {l}")
        for app in killed:
            if l.startswith(f"app {app} ") and "killed by slated: low memory" not in l:
                fail(f"{name}: {app} ended as: {l}")


def check_budget_run(console, name):
    """The foreground app grows past its own memory.high with the machine at ease: slated hears its stall
    on its group's PSI and says so; memory.high throttles the app (a soft budget), nobody kills it."""
    lines, result = run_lines(console, name)
    print(f"{name}: fg={result['fg']} kills={result['kills']} manager_kills={result['manager_kills']}")
    said = [re.sub(r"^log t_ms=\S+ ", "", l) for l in lines if l.startswith("log ")]
    if not any(re.search(rf"slated: {re.escape(FRONT)}: memory: stalls \(PSI of its group, foreground\): "
                         r"at its own budget", l) for l in said):
        fail(f"{name}: slated did not report the foreground app's stall at its budget")
    if int(result["kills"]) != 0:
        fail(f"{name}: an app was killed though the machine had room ({result['kills']})")
    if result["fg"] != "stuck":
        fail(f"{name}: the foreground app was not held at its soft budget ({result['fg']})")


def main():
    if len(sys.argv) != 3:
        print("usage: test-pressure-guest.py BUILD_DIR SOURCE_DIR", file=sys.stderr)
        return 2
    build, source = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if os.geteuid() != 0:
        print("skipped: slated's cgroups and the guest's device roots need root (CI runs as root)")
        return 77
    work = os.path.join(build, "pressure-guest")
    env = dict(os.environ, BUILD_DIR=build, BENCH_DIR=work, HOST="0", GUEST_RUNS=" ".join([*RUNS, "slated-budget"]),
               IDLE_S="0", KEEP="1")
    bench = subprocess.run([os.path.join(source, "bench", "memory.sh")], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    print(bench.stdout)
    if bench.returncode != 0:
        fail(f"bench/memory.sh's guest part failed (exit status {bench.returncode})")
    with open(os.path.join(work, "run", "guest-console.txt"), encoding="utf-8", errors="replace") as f:
        console = f.read()
    for name in RUNS.values():
        check_run(console, name)
    check_budget_run(console, BUDGET_RUN)
    shutil.rmtree(os.path.join(work, "run"))  # the kernel and earlyoom stay in the cache beside it
    print("ok: the foreground app survived, slated killed least recently used first, trimmed first, "
          "and the kernel's OOM killer never acted; the foreground app's own stall was heard")
    return 0


if __name__ == "__main__":
    sys.exit(main())
