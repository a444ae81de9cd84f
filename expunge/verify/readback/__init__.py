"""Read a target back from the media and compare it with what the final pass wrote.

Each sample of a ``SamplePlan`` is read from the media, not from the page cache, hashed with
BLAKE3, and compared with the BLAKE3 hash of the expected content, recomputed from the
``PassPattern`` of the pass (a fixed pattern with its phase, or the AES-256-CTR keystream at
that offset).

Bypassing the page cache. The target is opened ``O_RDONLY | O_DIRECT | O_NOFOLLOW |
O_CLOEXEC`` (plus ``O_NONBLOCK``, so that a FIFO given by mistake cannot hang the open; it
has no effect on files and block devices) and read into page-aligned ``mmap`` buffers at
offsets and lengths aligned to 4096 bytes (or the plan's alignment if larger); a final
unaligned tail is read as the aligned range around it and sliced. Where the kernel refuses
``O_DIRECT`` (``EINVAL`` on open, or on the first read), verification falls back to:
``fdatasync`` on the caller's writable descriptor if one is given, else ``fsync`` on the
read descriptor; then ``posix_fadvise(POSIX_FADV_DONTNEED)`` over the target and again over
each range right before it is read with buffered I/O. The report records which method was
used (``O_DIRECT`` or ``fadvise-dontneed``).

Reading. Adjacent samples are grouped into reads of up to 4 MiB, and many reads are in
flight at once, which hides the per-request latency of small sampled reads (2,000 reads of
8 KiB take ~90 ms one after another, ~30 ms with a deep queue). With ``O_DIRECT`` the reads
go through Linux native AIO (``aio_engine``): one thread keeps up to 128 reads queued and
hashes what completes, while a helper thread recomputes expected hashes; without it (buffered
fallback, or no AIO on the platform) ``workers`` threads each read, hash and compare. The
first read always runs alone: it decides between ``O_DIRECT`` and the fallback.

Modules: ``opening`` (paths and descriptors), ``identity``, ``groups`` (which reads),
``source`` (reading past the page cache), ``expected`` (expected hashes), ``checker`` and
``tally`` (comparing, and what was found), ``engine`` with ``threads`` and ``aio_engine``
(over ``linux_aio``).

A read error (``EIO``) or a short read is recorded against its samples as a mismatch with a
note, never raised; a failed multi-sample read is retried sample by sample so one bad
sector does not condemn its neighbours. Progress is reported to a ``ProgressSink`` from the
calling thread, in bytes of samples done; setting the optional ``stop`` event ends the run
early and the report says ``interrupted``.
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.verify.readback.engine import DEFAULT_WORKERS
    from expunge.verify.readback.expected import expected_digest
    from expunge.verify.readback.groups import MAX_READ_BYTES
    from expunge.verify.readback.identity import Identity, TargetIdentity
    from expunge.verify.readback.opening import verify_fd, verify_path
    from expunge.verify.readback.probe import TargetInfo, probe_target

__all__ = [
    "DEFAULT_WORKERS",
    "MAX_READ_BYTES",
    "Identity",
    "TargetIdentity",
    "TargetInfo",
    "expected_digest",
    "probe_target",
    "verify_fd",
    "verify_path",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
