"""Loaded by Python at start-up in every process the bench serves myapp from
(``bench/probe`` is on their PYTHONPATH, after the tree's own folder).

It changes nothing the application does: when ``myapp`` is imported, it asks
the import system's own finders where ``myapp`` comes from, prints that path
on stderr, and hands the import system that very answer. The bench reads the
line to prove that a target runs its own tree's code (the baseline commit's,
not the worktree's editable install) whatever server command starts it.
"""

import sys

MARKER = "bench-probe: myapp from "


class _Probe:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != "myapp":
            return None
        for finder in sys.meta_path:
            if finder is cls or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                print(f"{MARKER}{spec.origin}", file=sys.stderr, flush=True)
                return spec
        return None


sys.meta_path.insert(0, _Probe)
