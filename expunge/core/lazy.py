"""Package facades that import their modules on first use.

A one-file ``expunge shred`` should not pay for importing the drive, LUKS and
countersignature code it never runs: start-up is most of what a small file costs. A
facade keeps its re-exports as ordinary ``from M import name`` lines inside
``if TYPE_CHECKING:`` (so type checkers and readers see them) and ends with
``__getattr__, __dir__ = lazy_exports(__name__, __file__)``; each name is then imported
from its module the first time it is asked for.

Written here rather than taken from ``lazy_loader``: its stubs admit only relative
imports, and these facades also re-export from other packages.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable
from typing import Any

_EAGER = "EXPUNGE_EAGER_IMPORTS"
"""Set (to anything but empty or 0) to import every re-export at once, e.g. to find a
broken import without running the code that uses it."""

# The indented lines (and blank lines) under a top-level ``if TYPE_CHECKING:``.
_TYPE_CHECKING_BLOCK = re.compile(r"^if TYPE_CHECKING:[ \t]*\n((?:[ \t]+\S.*\n|[ \t]*\n)*)", re.M)
_FROM_IMPORT = re.compile(r"\bfrom\s+(\w[\w.]*)\s+import\s+(\([^)]*\)|[^\n]*)")
_COMMENT = re.compile(r"#[^\n]*")


def lazy_exports(package: str, source: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of facade ``package`` whose file is ``source``.

    The facade's source is read the first time a name is asked for, not at import: a
    command that imports a facade only for a rare branch pays nothing for it.

    An export may not share its name with a submodule: importing that submodule later
    would rebind the package attribute to the module, behind the facade's back.
    """
    namespace = vars(sys.modules[package])
    exports: dict[str, tuple[str, str]] = {}

    def origin() -> dict[str, tuple[str, str]]:
        if not exports:
            found = _exports_of(source)
            submodules = {os.path.splitext(e)[0] for e in os.listdir(os.path.dirname(source))}
            clash = sorted(submodules & found.keys())
            if clash:
                raise ImportError(
                    f"{package} exports {', '.join(clash)}, also the name of a submodule"
                )
            exports.update(found)
        return exports

    def __getattr__(name: str) -> Any:
        where = origin().get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = where
        value = getattr(importlib.import_module(module), attribute)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *origin()})

    if os.environ.get(_EAGER, "") not in ("", "0"):
        for name in origin():
            __getattr__(name)
    return __getattr__, __dir__


def _exports_of(source: str) -> dict[str, tuple[str, str]]:
    """``name -> (module, attribute)`` for each import under the file's ``if TYPE_CHECKING:``.

    Read by pattern, not by ``ast.parse``: parsing the facades cost a one-file shred about
    13 ms, and facades hold only ``from M import a, b as c`` lines in that block (a test
    checks that this reading and the parser's agree for every facade).
    """
    with open(source, encoding="utf-8") as handle:
        text = handle.read()
    found: dict[str, tuple[str, str]] = {}
    for block in _TYPE_CHECKING_BLOCK.findall(text):
        for module, names in _FROM_IMPORT.findall(_COMMENT.sub("", block)):
            for alias in names.strip("()").split(","):
                name, _, asname = alias.strip().partition(" as ")
                if name:
                    found[asname.strip() or name] = (module, name)
    return found
