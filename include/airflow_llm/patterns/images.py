"""Container images named in words ("Docker Image: name:tag"): a step that names the
image it runs says how it runs (``DockerOperator``), as naming an operator would."""

from __future__ import annotations

import re

IMAGE = r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$"
"""A container image reference: repository path, optional tag (no registry port, no
digest: what descriptions write)."""
_IMAGE_IN_WORDS = re.compile(
    r"\b(?:docker|container)\s+image\W{0,6}(?:\s*(?:is|of|:|=)\s*)?\W{0,3}"
    r"([a-z0-9]+(?:[._/-][a-z0-9]+)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?)",
    re.IGNORECASE,
)


def stated_images(text: str) -> list[str]:
    """The container images ``text`` names ("Docker Image: name:tag")."""
    found = [match.group(1).rstrip(".") for match in _IMAGE_IN_WORDS.finditer(text)]
    return [image for image in dict.fromkeys(found) if re.match(IMAGE, image)]
