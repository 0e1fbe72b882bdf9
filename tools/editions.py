#!/usr/bin/env python3
"""Build the classroom editions of the notebooks: ``build/student/`` and ``build/instructor/``.

* **student**: every cell tagged ``solution`` (solution code) or ``instructor`` (instructor notes) is
  removed, together with a markdown heading "Solution (try first!)" left standing right before a removed
  cell. The exercises themselves print a hint for an unanswered or wrong answer, never the answer.
* **instructor**: every cell, unchanged in content.

Both editions are written without outputs (execution counts cleared), with ``metadata.medlab.edition`` set,
and get the files next to the notebooks that a notebook refers to by a relative path (images in markdown,
other files in ``notebooks/`` except generated folders). Notebooks import ``medlab`` from the installed
package and write generated files (``results/``, ``runs/``) to folders resolved from ``medlab`` itself or
``$MEDLAB_RUNS``, so they run from any folder; nothing in ``datasets/`` is copied (it is read in place).

Usage::

    python tools/editions.py student            # -> build/student/
    python tools/editions.py instructor         # -> build/instructor/
    python tools/editions.py student --out DIR --notebooks notebooks/02_convolution.ipynb

``make student`` / ``make instructor`` call this. The output folder is replaced as a whole, so a learner's
work must not live there: ``make hub`` copies the student edition into each student's own folder once.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EDITIONS = ("student", "instructor")
#: tags whose cells the student edition drops
HIDDEN_TAGS = frozenset({"solution", "instructor"})
_SOLUTION_HEADING = re.compile(r"^\s*#{1,6}\s*(?:Solution|Solutions|解答|参考答案)\b[^\n]*\s*$", re.IGNORECASE)
_SKIP_DIRS = {"results", "runs", ".ipynb_checkpoints", "__pycache__"}
_MD_LINK = re.compile(r"""!\[[^\]]*\]\(\s*([^)\s]+)|<img[^>]+src=["']([^"']+)["']""")
MAX_NOTEBOOK_BYTES = 50 * 2**20


def _tags(cell: dict) -> set[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return set(tags) if isinstance(tags, list) else set()


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def student_cells(cells: list[dict]) -> list[dict]:
    """The cells of the student edition: hidden-tag cells removed, and a lone "Solution" heading before one.

    >>> cells = [{"cell_type": "markdown", "source": "### Exercise", "metadata": {}},
    ...          {"cell_type": "markdown", "source": "#### Solution (try first!)", "metadata": {}},
    ...          {"cell_type": "code", "source": "answer = 3", "metadata": {"tags": ["solution"]}},
    ...          {"cell_type": "code", "source": "check(answer)", "metadata": {}}]
    >>> [c["source"] for c in student_cells(cells)]
    ['### Exercise', 'check(answer)']
    """
    hidden = [bool(_tags(c) & HIDDEN_TAGS) for c in cells]
    out = []
    for k, cell in enumerate(cells):
        if hidden[k]:
            continue
        if (cell.get("cell_type") == "markdown" and _SOLUTION_HEADING.match(_source(cell))
                and k + 1 < len(cells) and hidden[k + 1]):
            continue
        out.append(cell)
    return out


def _clear(cell: dict) -> dict:
    cell = dict(cell)
    if cell.get("cell_type") == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    return cell


def edition_notebook(nb: dict, edition: str) -> dict:
    """The notebook JSON of ``edition`` ("student" or "instructor"), outputs cleared."""
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {EDITIONS}, got {edition!r}")
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise TypeError("nb must be a notebook dict with a 'cells' list (nbformat 4 JSON)")
    cells = student_cells(nb["cells"]) if edition == "student" else list(nb["cells"])
    out = dict(nb)
    out["cells"] = [_clear(c) for c in cells]
    meta = dict(out.get("metadata", {}))
    meta["medlab"] = {**meta.get("medlab", {}), "edition": edition}
    out["metadata"] = meta
    return out


def _referenced_files(nb: dict, src_dir: Path) -> set[Path]:
    found = set()
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        for a, b in _MD_LINK.findall(_source(cell)):
            ref = (a or b).split("#")[0].split("?")[0]
            if not ref or re.match(r"^[a-z]+:", ref) or ref.startswith("/"):
                continue
            path = (src_dir / ref).resolve()
            if path.is_file() and src_dir.resolve() in path.parents:
                found.add(path)
    return found


def build(edition: str, out_dir: Path | str | None = None, notebooks: list[Path | str] | None = None,
          src_dir: Path | str | None = None) -> list[Path]:
    """Write ``edition`` of ``notebooks`` (default: ``notebooks/*.ipynb``) into ``out_dir`` (default
    ``build/<edition>/``, replaced as a whole). Returns the notebook paths written."""
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {EDITIONS}, got {edition!r}")
    src = Path(src_dir) if src_dir is not None else ROOT / "notebooks"
    out = Path(out_dir) if out_dir is not None else ROOT / "build" / edition
    nbs = sorted(Path(p) for p in notebooks) if notebooks else sorted(src.glob("[0-9][0-9]_*.ipynb"))
    if not nbs:
        raise ValueError(f"no notebooks found in {src} (expected NN_topic.ipynb files)")
    for p in nbs:
        if p.suffix != ".ipynb" or not p.is_file():
            raise ValueError(f"notebooks must be existing .ipynb files, got {p}")
        if p.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"{p} is larger than {MAX_NOTEBOOK_BYTES >> 20} MiB: clear its outputs first")
    resolved_out = out.resolve()
    if resolved_out in (ROOT.resolve(), src.resolve()) or resolved_out in src.resolve().parents:
        raise ValueError(f"out_dir {out} would replace the sources; choose a folder such as build/{edition}")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    written, extra = [], set()
    for p in nbs:
        nb = json.loads(p.read_text(encoding="utf-8"))
        ed = edition_notebook(nb, edition)
        target = out / p.name
        target.write_text(json.dumps(ed, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        written.append(target)
        extra |= _referenced_files(ed, p.parent)
    # Other files beside the notebooks (not generated folders, not notebooks of another edition).
    for f in src.rglob("*"):
        rel = f.relative_to(src)
        if f.is_file() and f.suffix != ".ipynb" and not (set(rel.parts) & _SKIP_DIRS):
            extra.add(f.resolve())
    for f in sorted(extra):
        rel = f.relative_to(src.resolve())
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, out / rel)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("edition", choices=EDITIONS)
    ap.add_argument("--out", default=None, help="output folder (default build/<edition>/)")
    ap.add_argument("--notebooks", nargs="*", default=None, help="notebooks to build (default notebooks/*.ipynb)")
    args = ap.parse_args(argv)
    written = build(args.edition, args.out, args.notebooks)
    removed = 0
    for p in written:
        src = ROOT / "notebooks" / p.name
        if src.exists():
            removed += len(json.loads(src.read_text(encoding="utf-8"))["cells"]) - \
                len(json.loads(p.read_text(encoding="utf-8"))["cells"])
    print(f"{args.edition} edition: {len(written)} notebooks in {written[0].parent} "
          f"({removed} solution/instructor cells removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
