"""The face detectors and the face cut on drawn faces, with the real parts: MTCNN (eager and
traced) and OpenCV's Haar cascade; a search killed half-way resumes where it stopped."""

from __future__ import annotations

import pytest
from PIL import Image

from curation import scan as scan_lib
from curation.catalog import Catalog
from curation.face_scan import find_faces
from curation.importer import import_tree
from happysad.faces.batch import detect_files
from happysad.faces.crops import square_box
from happysad.faces.detectors import Face, get
from tests.faces_data import iou


@pytest.mark.parametrize("name", ["mtcnn", "haar"])
def test_detectors_find_the_drawn_faces_where_they_are_and_nothing_in_banners(scenes, name):
    root, truth = scenes
    found = list(detect_files(get(name), [root / n for n in truth]))
    matched = total = 0
    for (file, boxes), f in zip(truth.items(), found, strict=True):
        assert f.error is None
        for face in f.faces:  # every detection is one of the drawn faces
            assert max((iou(face, b) for b in boxes), default=0) >= 0.4, (file, face)
        matched += sum(any(iou(face, b) >= 0.4 for face in f.faces) for b in boxes)
        total += len(boxes)
    assert matched / total >= 0.7, (name, matched, total)


def test_mtcnn_traced_finds_the_boxes_the_package_finds_eagerly(scenes):
    """The detector calls MTCNN's networks through traced graphs (for speed): same faces, same
    boxes as the package's own eager calls, over pictures of several sizes (retracing)."""
    import numpy as np
    from mtcnn import MTCNN

    from happysad.faces.detectors.mtcnn import traced
    from happysad.faces.images import for_detection

    root, truth = scenes
    eager, graph = MTCNN(device="CPU:0"), traced(MTCNN(device="CPU:0"))
    pictures = [for_detection(Image.open(root / name).convert("RGB")) for name in truth]
    assert len({p.shape for p in pictures}) >= 2
    faces = 0
    for picture in pictures:
        want, got = eager.detect_faces(picture), graph.detect_faces(picture)
        assert [f["box"] for f in got] == [f["box"] for f in want]
        assert np.allclose([f["confidence"] for f in got], [f["confidence"] for f in want], atol=1e-5)
        faces += len(got)
    assert faces >= len(pictures) // 2  # the scenes' faces were found, not two empty lists compared


def test_a_crop_is_square_inside_the_picture_and_holds_the_face():
    face = Face(0.8, 0.1, 0.15, 0.5, 0.99)  # 30 x 50 px at (160, 10) in 200 x 100
    left, top, right, bottom = square_box(face, 200, 100, margin=0.2)
    assert right - left == bottom - top == 70
    assert left >= 0 and right <= 200 and top >= 0 and bottom <= 100
    assert left <= 160 and right >= 190 and top <= 10 and bottom >= 60


class Interrupted(Exception):
    pass


class Dies:
    """The real detector, killed after `after` pictures (as Ctrl-C or the OOM killer would)."""

    def __init__(self, after: int) -> None:
        self.real, self.left = get("mtcnn"), after
        self.name, self.min_face = self.real.name, self.real.min_face

    def detect(self, rgb):
        self.left -= 1
        if self.left < 0:
            raise Interrupted
        return self.real.detect(rgb)


def test_a_killed_search_resumes_where_it_stopped(scenes, tmp_path):
    root, truth = scenes
    with Catalog(tmp_path / "ws") as catalog:
        import_tree(root, catalog)
        scan_lib.scan_workspace(catalog, 64)
        with pytest.raises(Interrupted):
            find_faces(catalog, Dies(after=18), workers=1)
        saved = len(catalog.face_scanned("mtcnn:min20"))
        assert saved == 16  # one batch committed, the interrupted one lost
        report = find_faces(catalog, get("mtcnn"), workers=2)
    assert (report.resumed, report.searched) == (16, len(truth) - 16)
    assert report.images == len(truth) and report.with_faces + report.no_face == len(truth)
