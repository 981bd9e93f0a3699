"""Load YAML into a pydantic model; every error names the file and the line.

Not a hook itself (the leading underscore): the data hooks import it. MkDocs puts
a hook's folder on sys.path while it loads the hook, so a plain import works.
"""

from __future__ import annotations

from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class DataError(ValueError):
    """Bad course data; the message is 'source:line: what is wrong' (one line per problem)."""


def load(text: str, model: type[Model], *, source: str, first_line: int = 1) -> Model:
    """Parse ``text`` and validate it as ``model``.

    ``first_line`` is the line of ``text``'s first line in ``source`` (for YAML
    inside a Markdown fence).
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = first_line + (mark.line if mark else 0)
        raise DataError(f"{source}:{line}: invalid YAML: {error.problem or error}") from None
    if node is None:
        raise DataError(f"{source}:{first_line}: empty: expected {model.__name__} data")
    _reject_duplicate_keys(node, source, first_line)
    data = yaml.safe_load(text)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            location = ".".join(str(part) for part in item["loc"]) or "(top level)"
            line = first_line + _line_of(node, item["loc"])
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{source}:{line}: {location}: {message}")
        raise DataError("\n".join(problems)) from None


def _line_of(node: yaml.Node, loc: tuple[Any, ...]) -> int:
    """0-based line of the deepest node that ``loc`` reaches (the parent if a key is missing)."""
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
    return node.start_mark.line


def _reject_duplicate_keys(node: yaml.Node, source: str, first_line: int) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                line = first_line + key.start_mark.line
                raise DataError(f"{source}:{line}: duplicate key '{key.value}'")
            seen.add(key.value)
            _reject_duplicate_keys(value, source, first_line)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(item, source, first_line)


def raise_problems(text: str, source: str, problems) -> None:
    """Raise DataError for (loc, message) pairs found after validation (cross-references),
    each with the line of the entry ``loc`` names (the key's line, not the block below)."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    lines = []
    for loc, message in problems:
        line = 1 + key_line_of(node, loc)
        lines.append(f"{source}:{line}: {'.'.join(str(part) for part in loc)}: {message}")
    if lines:
        raise DataError("\n".join(lines))


def key_line_of(node: yaml.Node, loc: tuple[Any, ...]) -> int:
    """0-based line of what ``loc`` names: a mapping entry's key line, or the deepest node that exists."""
    for depth, part in enumerate(loc):
        child = None
        if isinstance(node, yaml.MappingNode):
            entry = next(((key, value) for key, value in node.value if key.value == part), None)
            if entry and depth == len(loc) - 1:
                return entry[0].start_mark.line
            child = entry[1] if entry else None
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
    return node.start_mark.line
