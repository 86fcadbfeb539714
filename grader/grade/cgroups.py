"""Control groups of a kernel: its processes counted together, limited together, ended together.

Resource limits (``setrlimit``) hold per process: a kernel that starts processes gives each
of them its own memory, CPU time and share of the cores. In a control group of its own, the
kernel and everything it starts count together: at most its process count (``pids.max``),
its memory (its limit plus its disk, whose pages are charged to it), one core in all (a
``cpu`` quota: a kernel that starts busy processes slows only itself, never the notebooks
graded beside it), and their CPU time is read over the whole group. A group of cgroup v2,
even one without controllers, ends all its processes at once (``cgroup.kill``).

Both cgroup versions are used as the machine has them: the v1 controllers (``pids``,
``memory``, ``cpu``, ``cpuacct``) where they are mounted, v2 for the rest (its controllers
where this process's own group hands them down, ``cgroup.kill`` and ``cpu.stat`` always).
Every group is made inside the group this process already belongs to, in each hierarchy,
and is named after its owner (:func:`grader.grade.leftovers.owner`), so that the groups of
a run that was killed are swept by the next (:func:`sweep`). Without the right to make groups
(not root, a read-only cgroup file system) there are none, and the supervisor says so.
"""

from __future__ import annotations

import functools
import os
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.grade import leftovers

#: Controllers of cgroup v1 this module uses, and where each is found.
V1 = ("pids", "memory", "cpu", "cpuacct", "freezer")
PREFIX = "grader-"
_NAME = re.compile(rf"{PREFIX}(\d+-\d+)$")
#: CFS period and quota of a kernel's group: one core.
PERIOD_US = 100_000


@dataclass(frozen=True)
class Hierarchy:
    """A mounted cgroup hierarchy: the directory of this process's group in it."""

    base: Path
    controllers: frozenset[str]
    v2: bool


def _unescape(path: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), path)


@functools.lru_cache(maxsize=1)
def hierarchies() -> tuple[Hierarchy, ...]:
    """This process's groups, one per mounted hierarchy it can use (cached: call it before
    forking, the kernels' supervisors inherit the answer)."""
    try:
        own = [line.rstrip("\n").split(":", 2) for line in open("/proc/self/cgroup")]
        mounts = open("/proc/self/mountinfo").read().splitlines()
    except OSError:
        return ()
    found: list[Hierarchy] = []
    for line in mounts:
        left, _, right = line.partition(" - ")
        fields, kinds = left.split(), right.split()
        if len(fields) < 5 or len(kinds) < 3 or kinds[0] not in ("cgroup", "cgroup2"):
            continue
        root, point = _unescape(fields[3]), _unescape(fields[4])
        v2 = kinds[0] == "cgroup2"
        options = set(kinds[2].split(","))
        for _, names, path in own:
            wanted = set(names.split(",")) if names else set()
            if v2 != (not names) or (not v2 and not wanted <= options):
                continue
            if not (path == root or path.startswith(root.rstrip("/") + "/")):
                continue  # our group is outside what this mount shows
            base = Path(point, os.path.relpath(path, root))
            controllers = frozenset(wanted & set(V1)) if not v2 else frozenset(
                _read(base / "cgroup.subtree_control").split())
            if controllers or v2:
                found.append(Hierarchy(base, controllers, v2))
            break
    return tuple(found)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


@dataclass
class Group:
    """One kernel's groups: a directory per hierarchy, and what each is for.

    The kernel's supervisor makes it (:meth:`create`), the kernel joins it (:meth:`join`)
    before anything else, and everything the kernel starts is born in it; once they are all
    gone, the supervisor removes it (:meth:`remove`).
    """

    name: str
    dirs: list[Path] = field(default_factory=list)
    #: role ("processes", "memory", "cpu", "usage", "kill", "freeze") -> directory
    roles: dict[str, Path] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)

    @classmethod
    def create(cls, name: str, processes: int, memory_mb: int) -> Group:
        """Groups named ``name`` wherever they can be made, with the limits set that can be.

        ``processes`` counts every process and thread of the group, ``memory_mb`` all their
        memory together. A hierarchy that refuses (no right, no such controller) is left out.
        """
        group = cls(name, limits={"processes": processes, "memory_mb": memory_mb})
        found = hierarchies()
        v2 = [h for h in found if h.v2]
        # cgroup v2 where it has the controller (its group ends and counts everything
        # anyway); v1 for the rest, and v1's accounting and freezer only without v2
        plan: dict[Path, tuple[Hierarchy, list[str]]] = {}
        taken: set[str] = set()
        for hierarchy in sorted(found, key=lambda h: not h.v2):
            have = hierarchy.controllers
            roles = [role for role, controller in (("processes", "pids"), ("memory", "memory"),
                                                   ("cpu", "cpu")) if controller in have]
            if hierarchy.v2:
                roles += ["usage", "kill"]
            elif not v2:
                roles += [r for r, c in (("usage", "cpuacct"), ("freeze", "freezer")) if c in have]
            roles = [role for role in roles if role not in taken]
            if roles:
                plan[hierarchy.base] = (hierarchy, roles)
                taken.update(roles)
        for base, (hierarchy, roles) in plan.items():
            target = base / name
            try:
                target.mkdir()
            except OSError:
                continue
            group.dirs.append(target)
            for role in roles:
                if role == "kill" and not (target / "cgroup.kill").exists():
                    continue  # a kernel before Linux 5.14
                if role in ("processes", "memory", "cpu") and not group._limit(
                        role, target, hierarchy.v2, processes, memory_mb):
                    continue
                group.roles[role] = target
        return group

    @staticmethod
    def _limit(role: str, target: Path, v2: bool, processes: int, memory_mb: int) -> bool:
        settings = {
            "processes": [("pids.max", str(processes))],
            "memory": [("memory.max", str(memory_mb * 2**20))] if v2 else [
                ("memory.limit_in_bytes", str(memory_mb * 2**20))],
            "cpu": [("cpu.max", f"{PERIOD_US} {PERIOD_US}")] if v2 else [
                ("cpu.cfs_period_us", str(PERIOD_US)), ("cpu.cfs_quota_us", str(PERIOD_US))],
        }[role]
        try:
            for file, value in settings:
                (target / file).write_text(value)
            return True
        except OSError:
            return False

    def join(self) -> bool:
        """Move this process into every group; False if one refused."""
        try:
            for target in self.dirs:
                (target / "cgroup.procs").write_text("0")
        except OSError:
            return False
        return True

    def describe(self) -> str:
        """What the groups hold, in words, for the grading record."""
        said = []
        if "processes" in self.roles:
            said.append(f"at most {self.limits['processes']} processes")
        if "memory" in self.roles:
            said.append(f"{self.limits['memory_mb']} MB")
        if "cpu" in self.roles:
            said.append("one core")
        if "usage" in self.roles:
            said.append("CPU time counted over all of them")
        if not self.dirs:
            return "no control group (they cannot be made here)"
        return "control group: " + (", ".join(said) or "accounting only")

    def counters(self) -> Counters:
        """The group's counters, read from this process (close them after use)."""
        return Counters({role: str(path) for role, path in self.roles.items()})

    def remove(self) -> None:
        """Remove the groups (their processes are gone)."""
        for target in self.dirs:
            if not _remove(target):
                _kill_all(target)  # something left that should not be: end it
                _remove(target)
        self.dirs = []


class Counters:
    """What a kernel's group has counted, read cheaply and often (by the worker, after every
    request): each file is opened once and read again in place.

    Parameters
    ----------
    roles : dict
        Role to group directory, as :attr:`Group.roles` has them (sent by the supervisor).
    """

    def __init__(self, roles: dict[str, str]) -> None:
        self._fds: dict[str, int] = {}
        files = {"processes": ("pids.events",), "memory": ("memory.events", "memory.oom_control"),
                 "usage": ("cpu.stat", "cpuacct.usage")}
        for role, names in files.items():
            if role not in roles:
                continue
            for name in names:
                try:
                    self._fds[role] = os.open(os.path.join(roles[role], name), os.O_RDONLY)
                    break
                except OSError:
                    continue

    def _text(self, role: str) -> str:
        fd = self._fds.get(role)
        if fd is None:
            return ""
        try:
            return os.pread(fd, 4096, 0).decode(errors="replace")
        except OSError:  # the group is gone
            return ""

    def refused_processes(self) -> int:
        """How many times a process could not be started for the group's process limit."""
        return _count(self._text("processes"), "max")

    def memory_kills(self) -> int:
        """How many processes of the group were killed for its memory limit."""
        return _count(self._text("memory"), "oom_kill")

    def cpu_seconds(self) -> float | None:
        """CPU seconds used by every process of the group so far (None: not known)."""
        text = self._text("usage")
        if not text:
            return None
        if "usage_usec" in text:
            return _count(text, "usage_usec") / 1e6
        return int(text.strip()) / 1e9 if text.strip().isdigit() else None

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}


def _count(text: str, key: str) -> int:
    """The value of ``key`` in flat-keyed text such as ``pids.events`` (0 if absent)."""
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


def _kill_all(target: Path) -> None:
    """End every process of the group at ``target`` (a group left by a killed run)."""
    if (target / "cgroup.kill").exists():
        try:
            (target / "cgroup.kill").write_text("1")
            return
        except OSError:
            pass
    # v1: frozen processes cannot exit, so no listed process id is reused before it is killed
    frozen = (target / "freezer.state").exists()
    if frozen:
        try:
            (target / "freezer.state").write_text("FROZEN")
        except OSError:
            frozen = False
    if frozen:
        for pid in _read(target / "cgroup.procs").split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        try:
            (target / "freezer.state").write_text("THAWED")
        except OSError:
            pass


def _remove(target: Path, wait: float = 1.0) -> bool:
    """Remove an empty group, waiting up to ``wait`` seconds for its processes to leave."""
    end = time.monotonic() + wait
    while True:
        try:
            target.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() > end:
                return False
            time.sleep(0.01)


def sweep() -> list[Path]:
    """Remove the groups whose owner is gone, ending what is left in them; return them."""
    swept = []
    for hierarchy in hierarchies():
        try:
            entries = list(os.scandir(hierarchy.base))
        except OSError:
            continue
        for entry in entries:
            match = _NAME.match(entry.name)
            if not match or not entry.is_dir() or leftovers.alive(match[1]):
                continue
            target = Path(entry.path)
            _kill_all(target)
            if _remove(target, wait=2.0):
                swept.append(target)
    return swept
