"""The `fer` package as a peer, run in its own environment (its pins clash with ours).

    .venv-fer/bin/python bench/fer_peer.py < paths.txt > scores.json

For each picture: P(sad) of happy-vs-sad, from its own FER2013 model on its own Haar faces.
Happy vs sad is the larger of its two scores, so P(sad) = sad / (happy + sad); a picture
with several faces averages them weighted by face area, as `predict --faces` does. A picture
it finds no face in gets null.
"""

from __future__ import annotations

import json
import sys

import cv2
from fer.fer import FER


def main() -> None:
    detector = FER(mtcnn=False)
    out: dict[str, float | None] = {}
    for path in sys.stdin.read().split("\n"):
        if not path:
            continue
        image = cv2.imread(path)
        faces = detector.detect_emotions(image) if image is not None else []
        weighted = [
            (
                f["box"][2] * f["box"][3],
                f["emotions"]["sad"] / max(1e-9, f["emotions"]["sad"] + f["emotions"]["happy"]),
            )
            for f in faces
        ]
        area = sum(a for a, _ in weighted)
        out[path] = sum(a * p for a, p in weighted) / area if area else None
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
