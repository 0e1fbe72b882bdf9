#!/usr/bin/env python3
"""Build the ``medlab`` Voilà template: Voilà's ``lab`` template with Font Awesome served locally.

Voilà's ``lab`` template links Font Awesome from a CDN (voila #539), so offline the button icons break and
the page waits on a request that never answers. This writes ``<out>/voila/templates/medlab/``:

* ``index.html.j2``: the installed ``lab`` template with the CDN links replaced by the template's own static
  files (an error if any ``http(s)://`` stylesheet or script is left);
* ``static/fontawesome/{css,webfonts}``: from npm ``@fortawesome/fontawesome-free`` (``make classroom``);
* ``conf.json``: ``{"base_template": "lab"}``, so every other file comes from ``lab``.

``make app NB=02_convolution`` runs it and then Voilà with ``JUPYTER_PATH=<out> --template=medlab``.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FONTAWESOME = ROOT / ".venv" / "node" / "node_modules" / "@fortawesome" / "fontawesome-free"
CDN_LINK = re.compile(r"""<link[^>]+href=["']https?://[^"']*fontawesome-free[^"']*/css/([\w.\-]+)["'][^>]*>""")
REMOTE = re.compile(r"""<(?:link|script)[^>]+(?:href|src)=["']https?://""")


def lab_template() -> Path:
    from jupyter_core.paths import jupyter_path
    for base in jupyter_path("voila", "templates", "lab"):
        p = Path(base) / "index.html.j2"
        if p.is_file():
            return p
    raise RuntimeError("Voilà's lab template not found: install the classroom extra (`make classroom`)")


def build(out: Path | str, fontawesome: Path | str = FONTAWESOME) -> Path:
    """Write the template under ``out``; returns the template folder."""
    fa = Path(fontawesome)
    if not (fa / "css" / "all.min.css").is_file():
        raise RuntimeError(f"Font Awesome not found in {fa}: `make classroom` installs it from npm")
    dest = Path(out) / "voila" / "templates" / "medlab"
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "static" / "fontawesome").mkdir(parents=True)
    src = lab_template().read_text(encoding="utf-8")
    replaced, n = CDN_LINK.subn(lambda m: '{{ resources.include_css("static/fontawesome/css/%s") }}' % m.group(1), src)
    left = REMOTE.findall(replaced)
    if left:
        raise RuntimeError(f"the lab template still loads {len(left)} remote file(s) after the Font Awesome fix; "
                           "update hub/app_template.py for this Voilà version")
    (dest / "index.html.j2").write_text(replaced, encoding="utf-8")
    (dest / "conf.json").write_text(json.dumps({"base_template": "lab"}) + "\n")
    for part in ("css", "webfonts"):
        shutil.copytree(fa / part, dest / "static" / "fontawesome" / part)
    shutil.copy2(fa / "LICENSE.txt", dest / "static" / "fontawesome" / "LICENSE.txt")
    print(f"medlab Voilà template in {dest} ({n} CDN links replaced by local files)")
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "build" / "app"))
    args = ap.parse_args(argv)
    try:
        build(args.out)
    except RuntimeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
