"""MedLabSpawner: each student's own copy of the student edition, a per-user memory limit, MedLab's env.

A one-server spawner for ``make hub``. It runs every single-user server as the hub's own system user (like
JupyterHub's ``SimpleLocalProcessSpawner``) with its own folder ``<hub dir>/users/<name>/``: the hub's login
and its per-user OAuth keep one student out of another's *server* (403), but code a student runs can read the
shared disk. For real isolation give each student a Unix account (``LocalProcessSpawner``), or use
``systemdspawner`` (cgroup memory limit), DockerSpawner, or Zero to JupyterHub (``hub/values.yaml``).

Memory: the limit (``mem_limit``, e.g. ``"2G"``) is passed to the server as ``MEM_LIMIT`` (what
jupyter-resource-usage shows) and enforced like an OOM killer: every ``mem_check_interval`` seconds the
resident memory of the user's process tree is summed and, above the limit, its largest process (a kernel)
is killed; Jupyter then reports "kernel died". ``peak_kernel_memory()`` reads VmHWM of the user's kernels.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import psutil
from jupyterhub.spawner import SimpleLocalProcessSpawner
from tornado.ioloop import PeriodicCallback
from traitlets import Float, Unicode


def tree(pid: int) -> list[psutil.Process]:
    """The process and its descendants that still exist."""
    try:
        root = psutil.Process(pid)
        return [root] + root.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def vmhwm_bytes(proc: psutil.Process) -> int:
    """Peak resident memory (VmHWM) of a process, from /proc (0 if gone or unknown)."""
    try:
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class MedLabSpawner(SimpleLocalProcessSpawner):
    """Single-user servers for a class on one machine (see the module docstring)."""

    edition_dir = Unicode("", config=True, help="the student edition to copy into each user's folder once")
    mem_check_interval = Float(5.0, config=True, help="seconds between memory checks (0: do not enforce)")

    _watch: PeriodicCallback | None = None

    def _copy_edition(self) -> None:
        src = Path(self.edition_dir)
        if not self.edition_dir or not src.is_dir():
            raise RuntimeError(f"student edition {src} not found: run `make student` first")
        home = Path(self.home_dir)
        dest = home / "notebooks"
        dest.mkdir(parents=True, exist_ok=True)
        for f in sorted(src.rglob("*")):
            target = dest / f.relative_to(src)
            if f.is_dir():
                target.mkdir(exist_ok=True)
            elif not target.exists():        # never overwrite a student's work; new notebooks do arrive
                shutil.copy2(f, target)
        (home / "runs").mkdir(exist_ok=True)

    def get_env(self):
        env = super().get_env()
        home = self.home_dir
        env["MEDLAB_RUNS"] = os.path.join(home, "runs")
        env["MEDLAB_HUB"] = "1"
        for key in ("MEDLAB_LANG", "PATH", "LANG"):
            if key in os.environ:
                env.setdefault(key, os.environ[key])
        return env

    async def start(self):
        self._copy_edition()
        self.notebook_dir = self.home_dir
        result = await super().start()
        if self.mem_limit and self.mem_check_interval > 0:
            self._watch = PeriodicCallback(self._enforce_memory, self.mem_check_interval * 1000)
            self._watch.start()
        return result

    async def stop(self, now=False):
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        return await super().stop(now=now)

    def _enforce_memory(self) -> None:
        if not self.pid:
            return
        procs = tree(self.pid)
        rss = {}
        for p in procs:
            try:
                rss[p] = p.memory_info().rss
            except psutil.Error:
                pass
        total = sum(rss.values())
        if total <= self.mem_limit:
            return
        children = {p: v for p, v in rss.items() if p.pid != self.pid}
        victim = max(children, key=children.get) if children else None
        self.log.warning("%s uses %.0f MiB > limit %.0f MiB: killing pid %s", self.user.name, total / 2**20,
                         self.mem_limit / 2**20, victim.pid if victim else self.pid)
        try:
            (victim or psutil.Process(self.pid)).kill()
        except psutil.Error:
            pass

    def peak_kernel_memory(self) -> dict[int, int]:
        """pid -> VmHWM bytes of the user's kernel processes now running."""
        return {p.pid: vmhwm_bytes(p) for p in tree(self.pid or 0)
                if "ipykernel" in " ".join(_cmdline(p))}


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return []
