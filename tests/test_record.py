"""A run's record (config.json, metrics.json) and a face cut (faces.json): typed, written and
read back in one place, and checked whoever reads them (a run folder may come from elsewhere)."""

from __future__ import annotations

import doctest
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from happysad.common import json_files
from happysad.common.errors import HappysadError
from happysad.faces import crops
from happysad.faces.crops import FaceCut, read_cut, write_cut
from trainer import face_scoring, record
from trainer.errors import DataError
from trainer.record import CONFIG, Metrics, RunConfig
from trainer.run import PRIOR_DIR

ROOT = Path(__file__).resolve().parents[1]


def test_a_written_config_reads_back_the_same(tmp_path):
    prior = RunConfig.read(PRIOR_DIR / CONFIG)
    assert prior.faces == FaceCut("mtcnn:min20", 0.2, 24) and prior.channels == 1
    changed = replace(prior, threshold=0.25, data_dir_from_run="../curated", reader={"read_by": "faces"})
    changed.write(tmp_path)
    assert RunConfig.read(tmp_path / CONFIG) == changed
    on_disk = json.loads((tmp_path / CONFIG).read_text())
    assert on_disk["faces"] == {"detector": "mtcnn:min20", "margin": 0.2, "min_face": 24}
    assert on_disk["channels"] == 1  # recorded for a reader without this package


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"flip_tta": "yes"}, "flip_tta is a JSON str"),
        ({"counts": [1, 2]}, "counts is a JSON list"),
        ({"faces": {"detector": "mtcnn:min20", "margin": 7, "min_face": 24}}, "margin must be"),
        ({"faces": {"detector": "rm -rf", "margin": 0.2, "min_face": 24}}, "detector must be"),
        ({"threshold": "0.5"}, "threshold must be"),
    ],
)
def test_a_hand_edited_config_is_refused_naming_the_field(tmp_path, change, named):
    settings = json.loads((PRIOR_DIR / CONFIG).read_text()) | change
    (tmp_path / CONFIG).write_text(json.dumps(settings))
    with pytest.raises(DataError, match=named) as caught:
        RunConfig.read(tmp_path / CONFIG)
    assert "\n" not in str(caught.value)


def test_metrics_round_trip_and_a_foreign_file_is_refused(tmp_path):
    Metrics({"test": {"accuracy": 0.9, "n": 10}}).write(tmp_path)
    assert Metrics.read(tmp_path).test == {"accuracy": 0.9, "n": 10}
    (tmp_path / record.METRICS).write_text("[1, 2]")
    with pytest.raises(DataError, match="not an object"):
        Metrics.read(tmp_path)
    (tmp_path / record.METRICS).write_text(json.dumps({"test": [1, 2]}))
    assert Metrics.read(tmp_path).test is None


def test_a_face_cut_reads_back_and_a_broken_faces_json_is_one_line(tmp_path):
    assert read_cut(tmp_path) is None  # not a face export
    write_cut(tmp_path, FaceCut("haar:min30", 0.1, 32))
    assert read_cut(tmp_path) == FaceCut("haar:min30", 0.1, 32)
    for text in ("{not json", "[1]", json.dumps({"detector": "haar", "margin": 0.1, "min_face": -1})):
        (tmp_path / crops.SETTINGS).write_text(text)
        with pytest.raises(HappysadError) as caught:
            read_cut(tmp_path)
        assert "faces.json" in str(caught.value) and "\n" not in str(caught.value)


def test_the_examples_in_the_docstrings_hold():
    here = os.getcwd()
    os.chdir(ROOT)  # the examples open trainer/prior
    try:
        for module in (record, crops, json_files, face_scoring):
            assert doctest.testmod(module).failed == 0, module.__name__
    finally:
        os.chdir(here)
