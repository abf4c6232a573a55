"""`curate review`: a persistent FiftyOne dataset mirroring the workspace, and the App on it.

Machine facts (provenance, hashes, groups, scan flags) are refreshed on every run;
reviewer decisions (the `ground_truth` label, any tag that is not a machine tag, such
as `reject`) are never overwritten, so re-running after new images arrive keeps them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from curation import decisions, quality
from curation.catalog import Catalog
from curation.quality import Verdict
from happysad.common.workspace import DATASET_KEY, workspace_id
from happysad.faces.detectors import Face

FIELDS = (
    "origin",
    "source",
    "page_url",
    "query",
    "engine",
    "sha256",
    "group_id",
    "role",
    "flag",
    "reason",
    "width",
    "height",
    "format",
)
VIEWS = {
    "duplicate groups": "members of duplicate groups, group by group",
    "conflicts": "groups whose members carry different labels",
    "flagged": "files scan flagged: corrupt, not an image, small, animated, bomb",
    "to review": "conflicts and flagged files nobody has rejected yet",
    "rejected": "what reviewers rejected",
    "no face": "pictures `curate faces` found no face in: logos, banners, clip art, turned heads",
    "looks like junk": "what a reviewer looks at first: low information (blank tiles, banners, logos, "
    "emoji), dark, light, blurry, odd aspect ratio; export leaves it out unless tagged keep",
    "looks odd": "grayscale or unusually sized pictures: for looking at, exported as usual",
}
QUALITY = "quality"  # each issue's score, 0 (the issue at its worst) .. 1 (curation.quality)
FACES = "faces"  # detections from `curate faces`
# each label's colour in the App, the labels in sorted order (happy amber, sad blue): FiftyOne's
# own pool gave happy and sad two blues, hard to tell apart in the grid and the Embeddings panel
PALETTE = ("#f2a900", "#1f5fd1", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def dataset_name(data_dir: Path) -> str:
    return f"happysad-{workspace_id(data_dir)}"


@dataclass
class SyncReport:
    dataset: str
    added: int
    updated: int
    samples: int
    conflicts: int


def _machine_tags(
    row, conflicted: set[str], faces: dict[str, list[Face]], verdicts: dict[str, list[Verdict]]
) -> set[str]:
    tags = {row["flag"]} if row["flag"] else set()
    tags |= {quality.tag(v.issue) for v in verdicts.get(row["path"], []) if v.flagged}
    if faces.get(row["path"]) == []:
        tags.add(decisions.NO_FACE_TAG)
    if row["role"] in ("duplicate", "near_duplicate"):
        tags.add(row["role"])
    if row["group_id"] in conflicted:
        tags.add(decisions.CONFLICT)
    return tags


def _detections(fo: ModuleType, found: list[Face] | None):
    if found is None:
        return None
    return fo.Detections(
        detections=[
            fo.Detection(label="face", bounding_box=[f.x, f.y, f.w, f.h], confidence=f.score) for f in found
        ]
    )


def _hex(value: int | None) -> str | None:
    return None if value is None else f"{value & (2**64 - 1):016x}"


def _one_sample_per_file(dataset) -> None:
    """Fold the copies of one file into one sample, then let the database refuse a second copy
    (a unique index on filepath). Two syncs that once ran at once added every file twice, and a
    decision made on either copy counts: a relabelled copy is kept, with every copy's tags."""
    if not len(dataset):
        dataset.create_index("filepath", unique=True)  # before the first sample: said once
        return
    ids, paths, tags, labels, originals = dataset.values(
        ["id", "filepath", "tags", "ground_truth.label", "original_label"]
    )
    copies: dict[str, list[int]] = {}
    for n, path in enumerate(paths):
        copies.setdefault(path, []).append(n)
    keep_tags, extra = {}, []
    for found in copies.values():
        if len(found) < 2:
            continue
        keeper = next((n for n in found if labels[n] != originals[n]), found[0])
        keep_tags[ids[keeper]] = sorted({tag for n in found for tag in tags[n] or []})
        extra += [ids[n] for n in found if n != keeper]
    if extra:
        dataset.set_values("tags", keep_tags, key_field="id", progress=False)
        dataset.delete_samples(extra)
    if not dataset.get_index_information().get("filepath", {}).get("unique"):
        dataset.create_index("filepath", unique=True)


def sync(fo: ModuleType, catalog: Catalog) -> SyncReport:
    """Create or update the dataset from the catalog; returns what changed. The caller holds
    the workspace's review lock (one sync at a time); the unique filepath index is the floor."""
    name = dataset_name(catalog.data_dir)
    dataset = fo.load_dataset(name) if name in fo.list_datasets() else fo.Dataset(name, persistent=True)
    _one_sample_per_file(dataset)
    rows = catalog.rows()
    known = decisions.read(fo, name, catalog.data_dir)
    conflicted = decisions.conflicted_groups(rows, known)
    existing = dict(zip(*dataset.values(["filepath", "id"]), strict=True))
    current_tags = dict(zip(*dataset.values(["id", "tags"]), strict=True))
    faces, verdicts = catalog.faces(), catalog.verdicts()
    new, updates, tags = [], {f: {} for f in (*FIELDS, "phash", "dhash", FACES, QUALITY)}, {}
    for row in rows:
        filepath = str(catalog.data_dir / row["path"])
        facts = {f: row[f] for f in FIELDS} | {
            "phash": _hex(row["phash_full"]),
            "dhash": _hex(row["dhash_full"]),
            FACES: _detections(fo, faces.get(row["path"])),
            QUALITY: {v.issue: v.score for v in verdicts[row["path"]]} if row["path"] in verdicts else None,
        }
        machine = _machine_tags(row, conflicted, faces, verdicts)
        sample_id = existing.get(filepath)
        if sample_id is None:
            sample = fo.Sample(filepath=filepath, tags=sorted(machine))
            sample["ground_truth"] = fo.Classification(label=row["label"])
            sample["original_label"] = row["label"]
            for key, value in facts.items():
                sample[key] = value
            new.append(sample)
            continue
        for key, value in facts.items():
            updates[key][sample_id] = value
        human = set(current_tags.get(sample_id) or []) - decisions.MACHINE_TAGS
        tags[sample_id] = sorted(human | machine)
    if new:
        dataset.add_samples(new, progress=False)
    if tags:
        schema = dataset.get_field_schema()
        for key, values in updates.items():
            if key in schema or any(v is not None for v in values.values()):
                dataset.set_values(key, values, key_field="id", progress=False)
        dataset.set_values("tags", tags, key_field="id", progress=False)
    _save_views(dataset)
    colour_labels(fo, dataset)
    dataset.compute_metadata(progress=False)
    catalog.set_conflicts(conflicted)
    catalog.set_meta(DATASET_KEY, name)
    return SyncReport(name, len(new), len(tags), len(dataset), len(conflicted))


def colour_labels(fo: ModuleType, dataset) -> None:
    """One colour a label (PALETTE) in every label field the dataset has (the labels given and,
    after `review --predictions`, what the models read), so a label looks the same everywhere."""
    labels = sorted(x for x in dataset.distinct("ground_truth.label") if x)
    colours = [{"value": label, "color": PALETTE[n % len(PALETTE)]} for n, label in enumerate(labels)]
    paths = sorted(dataset.get_field_schema(embedded_doc_type=(fo.Classification, fo.Detections)))
    fields = [{"path": p, "colorByAttribute": "label", "valueColors": colours} for p in paths]
    scheme = fo.ColorScheme(color_by="value", fields=fields)
    if dataset.app_config.color_scheme != scheme:
        dataset.app_config.color_scheme = scheme
        dataset.save()


def _save_views(dataset) -> None:
    """Save each view unless it is saved already as it is: overwriting gives it a new
    identity, and an App left open on it (a reviewer's, while `export` syncs) drops back to
    the whole dataset."""
    flags = list(decisions.FLAG_TAGS)
    views = {
        "duplicate groups": dataset.exists("group_id").sort_by("group_id"),
        "conflicts": dataset.match_tags(decisions.CONFLICT).sort_by("group_id"),
        "flagged": dataset.match_tags(flags),
        "to review": dataset.match_tags(list(decisions.UNDECIDED)).match_tags(decisions.REJECT, False),
        "rejected": dataset.match_tags(decisions.REJECT),
        "no face": dataset.match_tags(decisions.NO_FACE_TAG),
        "looks like junk": dataset.match_tags(sorted(map(quality.tag, quality.JUNK))),
        "looks odd": dataset.match_tags(sorted(map(quality.tag, quality.LOOK))),
    }
    for name, view in views.items():
        if dataset.has_saved_view(name) and dataset.load_saved_view(name) == view:
            continue
        dataset.save_view(name, view, description=VIEWS[name], overwrite=True)


def launch(fo: ModuleType, name: str, port: int, open_browser: bool, address: str | None = None):
    """Start the App on the dataset; returns the session (call `.wait()` to serve until Ctrl-C).
    It listens on loopback unless FIFTYONE_DEFAULT_APP_ADDRESS (or `address`) says otherwise."""
    address = address or os.environ.get("FIFTYONE_DEFAULT_APP_ADDRESS") or "127.0.0.1"
    dataset = fo.load_dataset(name)
    return fo.launch_app(dataset, port=port, address=address, remote=not open_browser, auto=False)
