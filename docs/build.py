"""Build the documentation site offline: ``make docs`` (or ``python docs/build.py``).

1. copies the executed notebooks of a demo report (default ``reports/demo/quick/`` of the work folder) into
   ``docs/tutorials/`` — the docs build renders them, it never runs them — and writes the parameters reference
   (``docs/guide/parameters.md``) from the schema;
2. runs Sphinx with warnings as errors (``-W --keep-going``) into ``docs/_build/html``;
3. checks every internal link and image of the built pages (a relative ``href``/``src`` must name a file that exists
   and, with ``#anchor``, an element with that id).

Exit status 0 when the site built without warnings and every internal link resolves.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
TUTORIALS = DOCS / "tutorials"


def copy_notebooks(report: Path) -> list[Path]:
    """The executed notebooks ``01_…`` … ``09_…`` of ``report`` copied into ``docs/tutorials/``."""
    nbs = sorted(report.glob("0[1-9]_*.ipynb"))
    if len(nbs) != 9:
        raise SystemExit(f"{report}: {len(nbs)} executed notebooks, expected 9; run make report first (AOI=demo PROFILE=quick)")
    for old in TUTORIALS.glob("*.ipynb"):
        old.unlink()
    return [Path(shutil.copy2(nb, TUTORIALS / nb.name)) for nb in nbs]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        for key in ("href", "src"):
            if a.get(key) and not (tag == "link" and key == "href" and "stylesheet" not in (a.get("rel") or "")):
                self.links.append(a[key])


def broken_links(site: Path) -> list[str]:
    """Internal links and images of the built site that do not resolve: ``page: link``."""
    pages: dict[Path, _Links] = {}
    for page in site.rglob("*.html"):
        if "_static" in page.relative_to(site).parts:  # the theme's templates, not pages
            continue
        p = _Links()
        p.feed(page.read_text(errors="replace"))
        pages[page.resolve()] = p
    bad = []
    for page, parsed in pages.items():
        for link in parsed.links:
            u = urlsplit(link)
            if u.scheme or u.netloc or link.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = (page.parent / unquote(u.path)).resolve() if u.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                bad.append(f"{page.relative_to(site.resolve())}: {link}")
            elif u.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else set()
                if unquote(u.fragment) not in ids:
                    bad.append(f"{page.relative_to(site.resolve())}: {link} (no such anchor)")
    return sorted(set(bad))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    work = Path(os.environ.get("ROCKSOIL_WORKDIR") or ROOT)
    ap.add_argument("--notebooks", default=str(work / "reports" / "demo" / "quick"), help="an executed demo report")
    ap.add_argument("--out", default=str(DOCS / "_build" / "html"))
    a = ap.parse_args(argv)
    copy_notebooks(Path(a.notebooks))
    from rocksoil_nb.config import reference

    (DOCS / "guide" / "parameters.md").write_text(reference.markdown())
    out = Path(a.out)
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-d", str(out.parent / "doctrees"),
           str(DOCS), str(out)]
    if subprocess.run(cmd, cwd=ROOT).returncode != 0:
        print("docs: Sphinx reported warnings or errors (above)", file=sys.stderr)
        return 1
    bad = broken_links(out)
    if bad:
        print("docs: internal links that do not resolve:\n  " + "\n  ".join(bad), file=sys.stderr)
        return 1
    print(f"docs: {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
