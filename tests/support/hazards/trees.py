"""Generated hazardous trees: the spec (hypothesis strategies) and building it on disk."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import blake3
from hypothesis import strategies as st

from tests.support import need_tool

# -- the tree spec -------------------------------------------------------------------------

TRICKY_NAMES = (b"-rf", b"--help", b"-", b"a\nb", b"\xff\xfe", b"caf\xe9", b" ", b"\n", b"*")
MAX_FILE = 1 << 20


@dataclass(frozen=True)
class FileNode:
    """A regular file of ``size`` random bytes: a target when the tree is named."""

    name: bytes
    size: int


@dataclass(frozen=True)
class LinkNode:
    """A symlink: to its own folder, to an outside file or folder, or to nothing."""

    name: bytes
    to: Literal["self", "outside-file", "outside-dir", "dangling"]


@dataclass(frozen=True)
class FifoNode:
    """A named pipe (opening it for writing would block a careless walker)."""

    name: bytes


@dataclass(frozen=True)
class HardLinkNode:
    """Another name for the outside file ``partner.bin``."""

    name: bytes


@dataclass(frozen=True)
class BindNode:
    """A folder with the outside folder ``bound`` bind-mounted on it (same filesystem)."""

    name: bytes


@dataclass(frozen=True)
class DirNode:
    """A folder; ``immutable`` sets ``chattr +i`` on it once it is filled."""

    name: bytes
    children: tuple[Node, ...]
    immutable: bool = False


Node = FileNode | LinkNode | FifoNode | HardLinkNode | BindNode | DirNode


@dataclass(frozen=True)
class TreeSpec:
    """The top folder's entries."""

    children: tuple[Node, ...]

    def describe(self) -> str:
        """A compact listing, for failure messages."""
        return "\n".join(_describe(self.children, "  "))


def _describe(nodes: tuple[Node, ...], indent: str) -> Iterator[str]:
    for node in nodes:
        extra = ""
        if isinstance(node, FileNode):
            extra = f" ({node.size} B)"
        elif isinstance(node, LinkNode):
            extra = f" -> {node.to}"
        elif isinstance(node, DirNode) and node.immutable:
            extra = " (+i)"
        yield f"{indent}{type(node).__name__} {node.name!r}{extra}"
        if isinstance(node, DirNode):
            yield from _describe(node.children, indent + "  ")


def names() -> st.SearchStrategy[bytes]:
    """File names: any bytes but ``/`` and NUL, often one of the classic traps."""
    raw = st.binary(min_size=1, max_size=10).map(
        lambda b: b.replace(b"/", b"_").replace(b"\0", b"_")
    )
    return st.one_of(st.sampled_from(TRICKY_NAMES), raw).filter(lambda b: b not in (b".", b".."))


def sizes() -> st.SearchStrategy[int]:
    """0, a few bytes, around a block, up to 1 MiB."""
    return st.one_of(
        st.just(0),
        st.integers(1, 100),
        st.integers(4090, 4100),
        st.integers(0, MAX_FILE),
    )


def _unique(nodes: list[Node]) -> tuple[Node, ...]:
    seen: set[bytes] = set()
    kept = []
    for node in nodes:
        if node.name not in seen:
            seen.add(node.name)
            kept.append(node)
    return tuple(kept)


def trees(*, hazards: bool = True, max_leaves: int = 8) -> st.SearchStrategy[TreeSpec]:
    """Generated trees; ``hazards=False`` draws only files and folders (a clean tree)."""
    files = st.builds(FileNode, names(), sizes())
    leaves: list[st.SearchStrategy[Node]] = [files, files, files]
    if hazards:
        links = st.sampled_from(["self", "outside-file", "outside-dir", "dangling"])
        leaves += [
            st.builds(LinkNode, names(), links),
            st.builds(FifoNode, names()),
            st.builds(HardLinkNode, names()),
            st.builds(BindNode, names()),
        ]
    leaf: st.SearchStrategy[Node] = st.one_of(*leaves)
    immutable = st.booleans() if hazards else st.just(False)

    def folders(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        return st.builds(DirNode, names(), st.lists(children, max_size=4).map(_unique), immutable)

    nodes = st.recursive(leaf, folders, max_leaves=max_leaves)
    return st.lists(nodes, min_size=2, max_size=6).map(lambda n: TreeSpec(_unique(n)))


def _folders(nodes: tuple[Node, ...], at: tuple[bytes, ...] = ()) -> Iterator[tuple[bytes, ...]]:
    yield at
    for node in nodes:
        if isinstance(node, DirNode):
            yield from _folders(node.children, (*at, node.name))


def _insert(nodes: tuple[Node, ...], at: tuple[bytes, ...], new: Node) -> tuple[Node, ...]:
    if not at:
        return (*(n for n in nodes if n.name != new.name), new)
    return tuple(
        DirNode(n.name, _insert(n.children, at[1:], new), n.immutable)
        if isinstance(n, DirNode) and n.name == at[0]
        else n
        for n in nodes
    )


@st.composite
def document_trees(draw: st.DrawFn, count: int) -> TreeSpec:
    """A generated tree holding ``count`` files with UTF-8 names (``doc-N.txt``, which the
    ledger can record) placed in folders drawn from the tree, immutable ones included."""
    spec = draw(trees())
    children = spec.children
    for number in range(count):
        where = draw(st.sampled_from(list(_folders(children))))
        children = _insert(children, where, FileNode(f"doc-{number}.txt".encode(), draw(sizes())))
    return TreeSpec(children)


# -- building it ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FileFacts:
    """What a target held before the run."""

    size: int
    sha256: str
    blake3: str


@dataclass
class Scene:
    """A built tree (``tree``) and its sibling ``outside``; paths are bytes."""

    tree: bytes
    outside: bytes
    files: dict[bytes, FileFacts] = field(default_factory=dict)
    mounts: list[bytes] = field(default_factory=list)
    immutable: list[bytes] = field(default_factory=list)

    @property
    def hazardous(self) -> bool:
        """Whether the tree holds a hard link, a bind mount or an immutable folder."""
        return bool(self.mounts or self.immutable) or os.stat(self.partner).st_nlink > 1

    @property
    def partner(self) -> bytes:
        """The outside file that the tree's hard links share."""
        return os.path.join(self.outside, b"partner.bin")


def _write(path: bytes, size: int) -> FileFacts:
    data = os.urandom(size)
    with open(path, "wb") as f:
        f.write(data)
    return FileFacts(size, hashlib.sha256(data).hexdigest(), blake3.blake3(data).hexdigest())


def _make_outside(outside: bytes) -> None:
    os.mkdir(outside)
    for name, size in ((b"partner.bin", 5000), (b"pointed.txt", 100), (b"sibling.bin", 70000)):
        _write(os.path.join(outside, name), size)
    os.mkdir(os.path.join(outside, b"bound"))
    _write(os.path.join(outside, b"bound", b"inner.bin"), 9000)
    os.mkdir(os.path.join(outside, b"bound", b"deeper"))
    _write(os.path.join(outside, b"bound", b"deeper", b"leaf.bin"), 3)


def _make(scene: Scene, folder: bytes, nodes: tuple[Node, ...]) -> None:
    for node in nodes:
        path = os.path.join(folder, node.name)
        if isinstance(node, FileNode):
            scene.files[path] = _write(path, node.size)
        elif isinstance(node, LinkNode):
            target = {
                "self": b".",
                "outside-file": os.path.join(scene.outside, b"pointed.txt"),
                "outside-dir": os.path.join(scene.outside, b"bound"),
                "dangling": b"no such entry",
            }[node.to]
            os.symlink(target, path)
        elif isinstance(node, FifoNode):
            os.mkfifo(path)
        elif isinstance(node, HardLinkNode):
            os.link(scene.partner, path)
        elif isinstance(node, BindNode):
            os.mkdir(path)
            bound = os.path.join(scene.outside, b"bound")
            subprocess.run([b"mount", b"--bind", bound, path], check=True)
            scene.mounts.append(path)
        else:
            os.mkdir(path)
            _make(scene, path, node.children)
            if node.immutable:
                scene.immutable.append(path)


def _chattr(flag: str, path: bytes) -> None:
    subprocess.run([need_tool("chattr").encode(), flag.encode(), path], check=True)


@contextmanager
def build(spec: TreeSpec, folder: Path) -> Iterator[Scene]:
    """Make ``folder/tree`` from ``spec`` beside ``folder/outside``; undo the traps on exit.

    Needs root (bind mounts, ``chattr``) when the spec holds those traps.
    """
    base = os.fsencode(folder)
    scene = Scene(os.path.join(base, b"tree"), os.path.join(base, b"outside"))
    _make_outside(scene.outside)
    os.mkdir(scene.tree)
    with ExitStack() as stack:
        # Registered first, so that a half-built scene is still torn down.
        stack.callback(_unmount_all, scene)
        stack.callback(_mutable_all, scene)
        _make(scene, scene.tree, spec.children)
        # Deepest first: a folder must still be writable while its children get the flag.
        for path in sorted(scene.immutable, key=len, reverse=True):
            _chattr("+i", path)
        yield scene


def _mutable_all(scene: Scene) -> None:
    for path in scene.immutable:
        if os.path.lexists(path):
            _chattr("-i", path)


def _unmount_all(scene: Scene) -> None:
    for path in reversed(scene.mounts):
        subprocess.run([b"umount", path], check=False, capture_output=True)
