"""A corpus of real notebooks nobody here wrote, for tests that must hold for notebooks in the wild.

It is the notebooks papermill installs with its tests, plus the ``.ipynb`` files of pinned source
distributions from PyPI (nbformat's v2/v3 and invalid test notebooks, nbclient's and nbconvert's
test files, jupytext's notebooks in a dozen kernels' languages, nbdime's diff and merge fixtures).
Each sdist is found through the PyPI JSON API, checked against the sha256 pinned here (which PyPI's
JSON must also state), and only its notebooks are extracted to ``.cache/notebook-corpus/``
(ignored by git). A download failure raises: a corpus test never passes on a corpus it did not read.

Run ``python -m tests.corpus`` to fill the cache ahead of time (e.g. before going offline).
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import papermill

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("DATAOPS_NOTEBOOK_CORPUS", REPO / ".cache" / "notebook-corpus"))
PYPI = "https://pypi.org/pypi"
TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Sdist:
    name: str
    version: str
    sha256: str
    notebooks: int  # how many .ipynb files it holds: a changed sdist fails loudly, not quietly


SDISTS = (
    Sdist(
        "nbformat", "5.11.1", "32d4521c68c6e7d5b29c76defaeed9f42ea733142b9b19f88277ce10390b9c4d", 20
    ),
    Sdist(
        "nbclient", "0.11.0", "04a134a5b087f2c5887f228aca155db50169b8cd9334dee6942c8e927e56081a", 23
    ),
    Sdist(
        "nbconvert",
        "7.17.2",
        "344a218e8595117ce37396ed025d994f146d076226ebac59255a2fa085ab24d8",
        24,
    ),
    Sdist(
        "jupytext", "1.19.6", "ba1d143bb3751e054d3164376b148ee8fa74e1a860fc9411e1da93ff588b8a17", 85
    ),
    Sdist(
        "nbdime", "4.0.4", "8cd25ecfeeb5105d563237d7f64eb4748058fba9bba9ab3892a1ff61e177ce16", 98
    ),
)

#: papermill's own test notebooks, installed with it (broken cells, magics, unparsable parameters).
PAPERMILL_NOTEBOOKS = Path(papermill.__file__).parent / "tests" / "notebooks"


class CorpusError(RuntimeError):
    """The corpus could not be fetched or is not what was pinned."""


def _get(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "jupyter-dataops-tests"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        return response.read()


def _sdist_file(sdist: Sdist) -> tuple[str, str]:
    """URL and sha256 of the sdist, from the PyPI JSON API.

    The per-release endpoint is tried first; some PyPI mirrors only serve the project endpoint,
    whose ``releases`` has the same file list. A file URL may be relative to the JSON's own URL.
    """
    urls = (f"{PYPI}/{sdist.name}/{sdist.version}/json", f"{PYPI}/{sdist.name}/json")
    errors = []
    for url in urls:
        try:
            meta = json.loads(_get(url))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            errors.append(f"{url}: {exc}")
            continue
        files = meta["urls"] if url == urls[0] else meta.get("releases", {}).get(sdist.version, [])
        for entry in files:
            if entry.get("packagetype") == "sdist":
                return urljoin(url, entry["url"]), entry["digests"]["sha256"]
        errors.append(f"{url}: no sdist for {sdist.version}")
    raise CorpusError(f"Cannot find the sdist of {sdist.name} {sdist.version}: {'; '.join(errors)}")


def _safe_member(member: tarfile.TarInfo) -> str | None:
    """The path inside the sdist's top folder of a regular .ipynb file, or None to skip it."""
    if not member.isfile() or not member.name.endswith(".ipynb"):
        return None
    parts = Path(member.name).parts[1:]  # drop "<name>-<version>/"
    if not parts or Path(member.name).is_absolute() or ".." in parts:
        return None
    return str(Path(*parts))


def fetch(sdist: Sdist, cache: Path = CACHE) -> Path:
    """The folder holding ``sdist``'s notebooks, downloading and extracting them if not cached."""
    cache.mkdir(parents=True, exist_ok=True)
    # One process fetches at a time (pytest-xdist workers share the cache).
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _fetch_locked(sdist, cache)


def _fetch_locked(sdist: Sdist, cache: Path) -> Path:
    target = cache / f"{sdist.name}-{sdist.version}"
    marker = target / ".sha256"
    if marker.is_file() and marker.read_text().strip() == sdist.sha256:
        return target
    url, published = _sdist_file(sdist)
    if published != sdist.sha256:
        raise CorpusError(
            f"PyPI states sha256 {published} for {sdist.name} {sdist.version}, not the pinned "
            f"{sdist.sha256}."
        )
    try:
        data = _get(url)
    except (urllib.error.URLError, OSError) as exc:
        raise CorpusError(f"Cannot download {url}: {exc}") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != sdist.sha256:
        raise CorpusError(f"{url} has sha256 {actual}, not the pinned {sdist.sha256}.")
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=cache))
    try:
        count = 0
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                relative = _safe_member(member)
                source = tar.extractfile(member) if relative else None
                if relative is None or source is None:
                    continue
                destination = staging / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(source.read())
                count += 1
        if count != sdist.notebooks:
            raise CorpusError(
                f"{sdist.name} {sdist.version} holds {count} notebooks, not the expected "
                f"{sdist.notebooks}."
            )
        (staging / ".sha256").write_text(sdist.sha256)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def corpus_notebooks(cache: Path = CACHE) -> dict[str, Path]:
    """Every corpus notebook, by a label such as ``nbformat-5.11.1/tests/test3.ipynb``."""
    found = {
        f"papermill-{papermill.__version__}/{path.relative_to(PAPERMILL_NOTEBOOKS)}": path
        for path in sorted(PAPERMILL_NOTEBOOKS.rglob("*.ipynb"))
    }
    for sdist in SDISTS:
        folder = fetch(sdist, cache)
        for path in sorted(folder.rglob("*.ipynb")):
            found[f"{folder.name}/{path.relative_to(folder)}"] = path
    return found


if __name__ == "__main__":
    notebooks = corpus_notebooks()
    print(f"{len(notebooks)} notebooks in {CACHE} and {PAPERMILL_NOTEBOOKS}")
