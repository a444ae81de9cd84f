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

import ast
import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

_EAGER = "EXPUNGE_EAGER_IMPORTS"
"""Set (to anything but empty or 0) to import every re-export at once, e.g. to find a
broken import without running the code that uses it."""


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
    """``name -> (module, attribute)`` for each import under the file's ``if TYPE_CHECKING:``."""
    with open(source, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), source)
    found: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module:
                    for alias in statement.names:
                        found[alias.asname or alias.name] = (statement.module, alias.name)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
