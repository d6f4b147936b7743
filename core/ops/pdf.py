"""Print an HTML file to PDF with headless Chromium, and read a PDF's outline back.

:func:`print_to_pdf` runs ``chromium --headless --print-to-pdf`` (Debian's ``chromium``, or the
browser named by ``CJO_CHROMIUM``) with a document outline made from the headings, in a
throwaway profile; without a browser it raises a :class:`~core.common.errors.CJOError` that
says how to get one. :func:`pdf_outline` and :func:`pdf_pages` read the outline's titles and the
page count of the PDF it wrote (what a test compares with the HTML's sections).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from core.common.errors import CJOError

#: Environment variable naming the Chromium binary (default: /usr/bin/chromium, then PATH).
CHROMIUM_ENV = "CJO_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
    "--generate-pdf-document-outline",
)


def find_chromium() -> str | None:
    """The Chromium binary to print with: ``$CJO_CHROMIUM``, /usr/bin/chromium or on PATH."""
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        return named if Path(named).is_file() else None
    if Path(DEFAULT_CHROMIUM).is_file():
        return DEFAULT_CHROMIUM
    return shutil.which("chromium") or shutil.which("chromium-browser")


def print_to_pdf(
    html_path: str | os.PathLike[str],
    pdf_path: str | os.PathLike[str],
    *,
    chromium: str | None = None,
    timeout: float = 120.0,
) -> Path:
    """Print ``html_path`` to ``pdf_path`` (A4 as the page's CSS says, outline from headings).

    Parameters
    ----------
    html_path
        A self-contained HTML file (no network is needed to print it).
    pdf_path
        Where the PDF goes (written whole or not at all).
    chromium
        The browser binary (default :func:`find_chromium`).
    timeout
        Seconds before giving up.

    Returns
    -------
    pathlib.Path
        ``pdf_path``.

    Raises
    ------
    CJOError
        No Chromium, or Chromium failed or timed out.
    """
    browser = chromium or find_chromium()
    if browser is None:
        raise CJOError(
            f"printing to PDF needs Chromium, found neither ${CHROMIUM_ENV}, {DEFAULT_CHROMIUM} "
            "nor chromium on PATH. Fix: apt-get install chromium (or set "
            f"{CHROMIUM_ENV}), or leave out the PDF: the HTML report opens in any browser."
        )
    src = Path(html_path).resolve()
    out = Path(pdf_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cjo-pdf-") as tmp:
        target = Path(tmp) / "report.pdf"
        cmd = [
            browser,
            *_FLAGS,
            f"--user-data-dir={Path(tmp) / 'profile'}",
            f"--print-to-pdf={target}",
            src.as_uri(),
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise CJOError(f"Chromium did not print {src.name} within {timeout:.0f} s.") from None
        except OSError as exc:
            raise CJOError(f"could not run Chromium ({browser}): {exc}.") from None
        if not target.is_file() or target.stat().st_size == 0:
            tail = done.stderr.decode(errors="replace")[-400:]
            raise CJOError(f"Chromium did not write the PDF of {src.name} ({tail.strip()}).")
        shutil.move(str(target), out)
    return out


def pdf_pages(data: bytes) -> int:
    """Pages of a PDF (objects of type /Page)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


def _pdf_text(raw: bytes) -> str:
    """A PDF string: a literal ``(...)`` or a hex ``<...>`` (UTF-16 with a BOM, or Latin-1)."""
    if raw.startswith(b"<"):
        b = bytes.fromhex(raw[1:-1].decode())
        return b[2:].decode("utf-16-be") if b.startswith(b"\xfe\xff") else b.decode("latin-1")
    body = raw[1:-1]
    body = re.sub(rb"\\([()\\])", rb"\1", body)
    if body.startswith(b"\xfe\xff"):
        return body[2:].decode("utf-16-be", errors="replace")
    return body.decode("latin-1")


def pdf_outline(data: bytes) -> list[str]:
    """Titles of a PDF's outline (bookmarks) in file order; [] without an outline."""
    if b"/Outlines" not in data:
        return []
    found = re.findall(rb"/Title\s*(\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f]+>)", data)
    return [_pdf_text(t) for t in found]
