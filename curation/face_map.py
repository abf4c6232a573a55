"""Faces laid out by similarity in the App: each face crop's embedding (the prior's last hidden
layer, trainer.face_scoring.classify_and_embed) on its face prediction, a 2-D map of them
(FiftyOne Brain's visualization: the Embeddings panel) and a similarity index (its scikit-learn
backend), so a reviewer can lasso a cluster of mislabelled faces and sort by similarity to one
wrong label to find its siblings.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass

EMBEDDING = "embedding"  # an attribute of each face prediction (a Detection)
MAP = "face_map"  # brain key of the 2-D map (the Embeddings panel)
SIMILAR = "face_similarity"  # brain key of the similarity index (sort by similarity)
# a saved workspace of the App (its workspace menu, or ?workspace= in its address): the grid
# beside the Embeddings panel, which lists the map to open
WORKSPACE = "faces by similarity"
# t-SNE (scikit-learn: no download) draws clusters apart; under this many faces its perplexity
# has too few neighbours to work with and PCA is used instead
TSNE_FROM = 60


@dataclass(frozen=True)
class FaceMap:
    faces: int  # face crops with an embedding
    method: str  # "tsne" or "pca"
    map_key: str = MAP
    similarity_key: str = SIMILAR
    workspace: str = WORKSPACE


def build(dataset, patches_field: str) -> FaceMap | None:
    """The map and the index over the face predictions' embeddings, replacing earlier ones;
    None when fewer than two faces have one. The vectors are handed over as they are (sample
    id → its faces' vectors): FiftyOne Brain, given none, would fetch a model to compute them."""
    import fiftyone.brain as fob
    import numpy as np

    sample_ids, vectors = dataset.values(["id", f"{patches_field}.detections.{EMBEDDING}"])
    embedded = {
        sample_id: np.asarray(faces, dtype=np.float32)
        for sample_id, faces in zip(sample_ids, vectors, strict=True)
        if faces and all(v is not None for v in faces)
    }
    for key in (MAP, SIMILAR):
        if key in dataset.list_brain_runs():
            dataset.delete_brain_run(key)
    count = sum(len(faces) for faces in embedded.values())
    if count < 2:
        return None
    method = "tsne" if count >= TSNE_FROM else "pca"
    pictures = dataset.select(list(embedded), ordered=True)
    options = {"patches_field": patches_field, "embeddings": embedded, "progress": False}
    # scikit-learn's t-SNE prints its progress: stdout carries `--json`'s one value alone
    with contextlib.redirect_stdout(sys.stderr):
        fob.compute_visualization(pictures, method=method, brain_key=MAP, seed=51, verbose=False, **options)
        fob.compute_similarity(pictures, backend="sklearn", metric="cosine", brain_key=SIMILAR, **options)
    _save_workspace(dataset, patches_field)
    return FaceMap(count, method)


def _save_workspace(dataset, patches_field: str) -> None:
    """The samples grid and, beside it, the Embeddings panel on the face map, coloured by each
    face's predicted label (the panel asks which map to open the first time it is shown)."""
    import fiftyone as fo

    grid = fo.Panel(type="Samples", pinned=True)
    colour = f"{patches_field}.detections.label"
    chart = fo.Panel(type="Embeddings", state={"openKey": MAP, "colorField": colour})
    # a space shows its active child: without one, the App draws an empty pane
    panels = [fo.Space(children=[panel], active_child=panel.component_id) for panel in (grid, chart)]
    dataset.save_workspace(
        WORKSPACE,
        fo.Space(children=panels, orientation="horizontal"),
        description=f"the faces of '{patches_field}' laid out by the prior's embedding ({MAP})",
        overwrite=True,
    )


def nearest(dataset, patches_field: str, label_id: str, k: int = 5) -> list[str]:
    """The ids of the k face predictions most like one (itself first): a wrong label's siblings."""
    patches = dataset.to_patches(patches_field)
    similar = patches.sort_by_similarity(label_id, k=k, brain_key=SIMILAR)
    return similar.values("id")
