"""Review with a real mongod through FiftyOne: dataset, saved views, decisions, re-runs."""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path

import pytest

from tests.conftest import curate_json, run_cli
from tests.curation_data import jpeg, make_tree, scene


@pytest.fixture(scope="module")
def fo(fiftyone_env):
    os.environ.update(fiftyone_env)
    from curation.database import fiftyone

    return fiftyone()


@pytest.fixture
def reviewed(tmp_path, fiftyone_env, fo):
    root = tmp_path / "tree"
    make_tree(root)
    data = tmp_path / "ws"
    curate_json("import", str(root), data=data)
    report = curate_json("review", "--no-app", data=data, env=fiftyone_env)
    return root, data, report, fo.load_dataset(report["dataset"])


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _exported(data: Path, env) -> dict[str, str]:
    curate_json("export", data=data, env=env)
    with (data / "curated" / "manifest.csv").open() as handle:
        return {r["sha256"]: r["label"] for r in csv.DictReader(handle)}


def test_dataset_mirrors_the_workspace(reviewed):
    root, _, report, dataset = reviewed
    assert report["samples"] == len(dataset) == sum(1 for p in root.rglob("*") if p.is_file())
    assert set(dataset.distinct("ground_truth.label")) == {"happy", "sad"}
    tags = dataset.count_sample_tags()
    assert tags["conflict"] == 4 and tags["near_duplicate"] >= 5
    assert {"corrupt", "not_image", "bomb", "small", "animated"} <= set(tags)
    assert set(dataset.list_saved_views()) == {
        "duplicate groups",
        "conflicts",
        "flagged",
        "to review",
        "rejected",
        "no face",
        "looks like junk",
        "looks odd",
    }
    assert len(dataset.load_saved_view("conflicts")) == 4
    sample = dataset.match_tags("conflict").first()
    assert sample["sha256"] and sample["group_id"] and sample["phash"] and sample["origin"] == "import"


def test_a_sync_keeps_the_saved_views_an_open_app_shows(reviewed, fiftyone_env):
    """`review` or `faces` syncs again while a reviewer's App is open on a saved view: an
    unchanged view keeps its identity (overwritten, it would be a new view under the App)."""
    _, data, _, dataset = reviewed

    def identities():  # FiftyOne's public info leaves the view's id out
        dataset.reload()
        return {view.name: view.id for view in dataset._doc.get_saved_views()}

    before = identities()
    curate_json("review", "--no-app", data=data, env=fiftyone_env)
    assert identities() == before and len(before) == 8
    dataset.select(dataset.match_tags("conflict").first().id).tag_samples("reject")
    curate_json("review", "--no-app", data=data, env=fiftyone_env)
    assert len(dataset.load_saved_view("rejected")) == 1


def test_rejections_and_relabels_in_fiftyone_drive_the_export(reviewed, fiftyone_env):
    root, data, _, dataset = reviewed
    before = _exported(data, fiftyone_env)
    assert _sha(root / "happy/happy1.jpg") not in before  # in a conflict
    # resolve one conflict by rejecting a member, the other by relabelling
    by_sha = dict(zip(dataset.values("sha256"), dataset.values("id"), strict=True))
    dataset.select(by_sha[_sha(root / "sad/also-happy1.jpg")]).tag_samples("reject")
    small = dataset[by_sha[_sha(root / "sad/happy2-small.jpg")]]
    small.ground_truth.label = "happy"
    small.save()
    dataset.select(by_sha[_sha(root / "happy/happy3.jpg")]).tag_samples("reject")
    after = _exported(data, fiftyone_env)
    assert after[_sha(root / "happy/happy1.jpg")] == "happy"  # conflict resolved by rejection
    assert _sha(root / "happy/happy3.jpg") not in after  # rejected
    family = {_sha(root / "happy/happy2.jpg"), _sha(root / "sad/happy2-small.jpg")}
    assert len(family & set(after)) == 1  # relabelled: no longer a conflict, one keeper
    assert [after[s] for s in family & set(after)] == ["happy"]


def test_rerun_after_new_images_keeps_decisions(reviewed, fiftyone_env, tmp_path):
    root, data, _, dataset = reviewed
    by_sha = dict(zip(dataset.values("sha256"), dataset.values("id"), strict=True))
    target = dataset[by_sha[_sha(root / "sad/sad3.jpg")]]
    target.ground_truth.label = "happy"
    target.tags.append("reject")
    target.tags.append("blurry")
    target.save()
    more = tmp_path / "more" / "sad"
    more.mkdir(parents=True)
    (more / "new.jpg").write_bytes(jpeg(scene(777, "sad")))
    curate_json("import", str(more.parent), data=data)
    report = curate_json("review", "--no-app", data=data, env=fiftyone_env)
    assert report["added"] == 1
    dataset.reload()
    again = dataset[by_sha[_sha(root / "sad/sad3.jpg")]]
    assert again.ground_truth.label == "happy" and {"reject", "blurry"} <= set(again.tags)
    assert "conflict" in dataset[by_sha[_sha(root / "happy/happy1.jpg")]].tags  # machine tags refreshed


def test_unreachable_database_is_one_line(tmp_path, fiftyone_env):
    env = {**fiftyone_env, "FIFTYONE_DATABASE_URI": "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=1500"}
    (tmp_path / "ws").mkdir()
    result = run_cli("curate", "review", "--no-app", data=tmp_path / "ws", env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = result.stderr.strip()
    assert (
        line.startswith("curate: error: FiftyOne's database is not available") and len(line.splitlines()) == 1
    )
    assert "FIFTYONE_DATABASE_URI" in line


def test_predictions_from_something_that_is_not_a_run_is_one_line(reviewed, fiftyone_env, tmp_path):
    _, data, _, _ = reviewed
    result = run_cli(
        "curate", "review", "--no-app", "--predictions", str(tmp_path), data=data, env=fiftyone_env
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"curate: error: {tmp_path} is not a training run (no model.keras and config.json)"
    )


def test_a_label_that_is_not_a_folder_name_never_becomes_a_path(reviewed, fiftyone_env):
    """A ground_truth of ../../x or an absolute path (typed in the App, or written to a shared
    MongoDB) is left out of the export with a reason; nothing is written outside curated/."""
    _, data, _, dataset = reviewed
    from fiftyone import ViewField as F

    clean = dataset.match_tags(["conflict", "corrupt", "not_image", "bomb", "small", "animated"], bool=False)
    clean = clean.match(F("group_id") == None)  # noqa: E711 - in no group, so no conflict to make
    hostile = ["../../../escape", str(data.parent / "outside")]
    for sample, label in zip(clean.limit(2), hostile, strict=True):
        sample.ground_truth.label = label
        sample.save()
    report = curate_json("export", data=data, env=fiftyone_env)
    assert report["left_out"]["invalid label"] == 2
    assert not (data.parent / "outside").exists() and not (data.parent.parent / "escape").exists()
    exported = [p for p in (data / "curated").rglob("*") if p.is_file()]
    assert all(p.resolve().is_relative_to((data / "curated").resolve()) for p in exported)


def test_a_copied_workspace_gets_its_own_dataset_and_a_moved_one_keeps_its_own(
    reviewed, fiftyone_env, tmp_path
):
    import shutil

    _, data, report, dataset = reviewed
    copy = tmp_path / "copy"
    shutil.copytree(data, copy)
    copied = curate_json("review", "--no-app", data=copy, env=fiftyone_env)
    assert copied["dataset"] != report["dataset"] and copied["samples"] == report["samples"]
    dataset.reload()
    assert len(dataset) == report["samples"]  # the original is not doubled
    moved = tmp_path / "moved"
    copy.rename(moved)
    again = curate_json("review", "--no-app", data=moved, env=fiftyone_env)
    assert again["dataset"] == copied["dataset"]  # its reviews stay with it
