"""Keep Numba's on-disk kernel cache in step with the package sources.

Numba invalidates a cached kernel only when the file that defines it changes.
The slot-loop kernel calls kernels from other modules (swaps, the searcher's
closed forms, the ordering dispatch), so editing one of those would leave the
engine running stale machine code, and the same seed would give different
results depending on what is cached. On import we hash every source file of
the package; when the hash differs from the one recorded beside the caches,
mevlab's cached kernels are deleted and recompile on first use.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent
STAMP = ROOT / "__pycache__" / "numba_sources.sha256"


def sources_hash() -> str:
    """SHA-256 over the relative path and content of every ``.py`` file of the package."""
    h = hashlib.sha256()
    for path in sorted(ROOT.rglob("*.py")):
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def ensure_fresh_cache() -> bool:
    """Delete mevlab's cached kernels if any source changed; True if it deleted them.

    A read-only installation (where Numba cannot cache either) is left alone.
    """
    digest = sources_hash()
    try:
        if STAMP.exists() and STAMP.read_text() == digest:
            return False
        for pattern in ("*.nbi", "*.nbc"):
            for f in ROOT.rglob(pattern):
                f.unlink(missing_ok=True)
        STAMP.parent.mkdir(exist_ok=True)
        tmp = STAMP.with_name(f"{STAMP.name}.{os.getpid()}.tmp")
        tmp.write_text(digest)
        tmp.replace(STAMP)
    except OSError:
        return False
    return True
