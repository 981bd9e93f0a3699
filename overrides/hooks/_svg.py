"""Read what an SVG figure declares about its size (shared by the figure hooks).

A figure must declare ``viewBox``, ``width`` and ``height`` in the same ratio, and
a ``<title>``: the page lays the image out from ``width``/``height`` before it
loads (no layout shift), scales it down to the column by the ratio, and a reader
of the bare file gets its title.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

SVG = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*$")


@dataclass(frozen=True)
class Figure:
    width: float
    height: float


def read(path: Path) -> Figure:
    """The figure's declared size; ValueError says what is missing or wrong."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        raise ValueError(f"not well-formed XML ({error})") from None
    if root.tag != f"{SVG}svg":
        raise ValueError("the root element is not <svg> in the SVG namespace")
    view_box = (root.get("viewBox") or "").replace(",", " ").split()
    if len(view_box) != 4:
        raise ValueError("no viewBox (four numbers: min-x min-y width height)")
    try:
        box_width, box_height = float(view_box[2]), float(view_box[3])
    except ValueError:
        raise ValueError(f"viewBox {root.get('viewBox')!r} is not four numbers") from None
    size = {}
    for name in ("width", "height"):
        match = NUMBER.match(root.get(name) or "")
        if not match:
            raise ValueError(f"no explicit {name} in pixels on <svg> (found {root.get(name)!r})")
        size[name] = float(match[1])
    if box_width <= 0 or box_height <= 0 or size["width"] <= 0 or size["height"] <= 0:
        raise ValueError("viewBox and size must be positive")
    declared, drawn = size["width"] / size["height"], box_width / box_height
    if abs(declared - drawn) > 0.01 * drawn:
        raise ValueError(
            f"width/height {size['width']:g}×{size['height']:g} do not have the viewBox's ratio "
            f"{box_width:g}×{box_height:g}"
        )
    title = root.find(f"{SVG}title")
    if title is None or not (title.text or "").strip():
        raise ValueError("no <title> (the figure's name for a reader of the bare file)")
    return Figure(size["width"], size["height"])
