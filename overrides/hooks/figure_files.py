"""Every SVG under docs/assets/figures/ declares its size and title, or the build stops.

Two figures once rendered as 0 × 0 px for a whole release: they had a viewBox but
no width/height, so the image had no intrinsic size inside its zoom link. The
rules are in ``_svg.read``; the error names each file and what it lacks.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.exceptions import PluginError

import _svg  # beside this file; MkDocs puts the hook's folder on sys.path

FIGURES = "assets/figures/"


def on_files(files, config):
    """Check every figure file before any page is built."""
    problems = []
    for file in files:
        if file.src_uri.startswith(FIGURES) and file.src_uri.endswith(".svg"):
            try:
                _svg.read(Path(file.abs_src_path))
            except ValueError as error:
                problems.append(f"docs/{file.src_uri}: {error}")
    if problems:
        raise PluginError("figures: " + "\n".join(problems))
    return files
