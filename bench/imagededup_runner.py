"""Runs inside img2dataset/imagededup's own env (no happysad imports): JSON in, JSON out.

python imagededup_runner.py files DIR            → {"seconds_hash", "seconds_search", "pairs"}
python imagededup_runner.py hashes FILE.json     → {"seconds_search", "pairs"}  (hex hashes)
"""

import json
import sys
import time

from imagededup.methods import PHash


def main() -> None:
    mode, target = sys.argv[1], sys.argv[2]
    phasher = PHash(verbose=False)
    if mode == "files":
        start = time.perf_counter()
        encodings = phasher.encode_images(image_dir=target)
        hashed = time.perf_counter()
    else:
        with open(target) as handle:
            encodings = json.load(handle)
        start = hashed = time.perf_counter()
    duplicates = phasher.find_duplicates(encoding_map=encodings)  # default threshold 10
    done = time.perf_counter()
    pairs = sorted({tuple(sorted((a, b))) for a, dups in duplicates.items() for b in dups})
    print(
        json.dumps(
            {
                "seconds_hash": hashed - start,
                "seconds_search": done - hashed,
                "hashed": len(encodings),
                "pairs": pairs,
            }
        )
    )


if __name__ == "__main__":
    main()
