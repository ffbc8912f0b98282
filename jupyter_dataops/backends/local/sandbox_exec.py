"""Put this process in its sandbox's limits, then become the kernel (``exec``): the kernel keeps
this process's id, so nothing runs outside the limits, not even for a moment.

Run by the sandbox kernel provisioner as ``python -I -S sandbox_exec.py [options] -- CMD...``;
imports only the standard library (it costs a few milliseconds before each kernel start).

- ``--cgroup DIR``: join the cgroup v2 group DIR (its memory.max and cpu.max are set already);
- ``--memory BYTES``: otherwise, cap the data segment (RLIMIT_DATA: the heap and private
  memory maps, what allocations count against); an allocation beyond it fails (MemoryError);
- ``--cpus 0,1``: run on these CPUs only (sched_setaffinity).
"""

from __future__ import annotations

import os
import resource
import sys


def main(argv: list[str]) -> None:
    if "--" not in argv:
        sys.exit(
            "sandbox_exec: usage: sandbox_exec.py [--cgroup DIR] [--memory BYTES] [--cpus LIST] -- CMD..."
        )
    at = argv.index("--")
    options, command = argv[:at], argv[at + 1 :]
    values = dict(zip(options[::2], options[1::2], strict=False))
    cgroup = values.get("--cgroup")
    if cgroup:
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as procs:
            procs.write(str(os.getpid()))
    memory = values.get("--memory")
    if memory:
        limit = int(memory)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    cpus = values.get("--cpus")
    if cpus:
        os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
