"""Writing files so that an interrupted run never leaves half a file behind.

Every file the package writes (DocBins, graphs, CSV, Parquet, metrics, plots,
model weights) goes to a temporary name in the same directory and is renamed
into place once complete: `os.replace` is atomic on POSIX and Windows, so a
reader sees either the old file or the whole new one.
"""
import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator, Union


@contextlib.contextmanager
def atomic_path(path: Union[str, Path]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it into place.

    Use it for libraries that want a file name rather than a handle
    (``DocBin.to_disk``, ``networkx.write_gexf``, ``savefig``). On error the
    temporary file is removed and `path` is left as it was.

    path (Union[str, Path]): The final destination.
    YIELDS (Path): The temporary path to write to.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp" + "".join(path.suffixes), dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates files readable by the owner only; give the final file
    # the permissions an ordinary open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_open(
    path: Union[str, Path], mode: str = "w", encoding: str = "utf8", **kwargs
) -> Iterator[IO]:
    """Open a temporary file beside `path` and rename it into place on success.

    path (Union[str, Path]): The final destination.
    mode (str): "w" for text or "wb" for bytes.
    encoding (str): The text encoding (ignored for binary mode).
    YIELDS (IO): The open file handle.
    """
    with atomic_path(path) as tmp:
        if "b" in mode:
            with open(tmp, mode) as f:
                yield f
        else:
            with open(tmp, mode, encoding=encoding, **kwargs) as f:
                yield f


@contextlib.contextmanager
def atomic_directory(path: Union[str, Path]) -> Iterator[Path]:
    """Yield a temporary directory beside `path`; on success swap it into place.

    An existing directory at `path` is replaced only after the new one is
    complete, so an interrupted save leaves the old model usable.

    path (Union[str, Path]): The final directory.
    YIELDS (Path): The temporary directory to fill.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "previous")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
