"""happysad: from an image-search query to a reviewed dataset and a happy-vs-sad classifier.

The public API is `Workspace`, `train`, `load` and `Model` (from `happysad.api`); they are
imported on first use, so `import happysad` stays light (no TensorFlow, no FiftyOne):

    >>> import happysad
    >>> happysad.Workspace("data")  # doctest: +ELLIPSIS
    Workspace('.../data')

The stages are the top-level packages `collector`, `curation` and `trainer`; what they share
lives here, under the project's name, so nothing generic (`common`, `faces`) lands at the top
of site-packages: `happysad.common` (errors, files, tables, images, the workspace) and
`happysad.faces` (detectors, crops, the face export).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from happysad.api import Model, Workspace, load, train

__all__ = ["Model", "Workspace", "load", "train"]


def __getattr__(name: str) -> Any:
    """The public names, imported from happysad.api when first asked for."""
    if name in __all__:
        from happysad import api

        return getattr(api, name)
    raise AttributeError(f"module 'happysad' has no attribute {name!r}")
