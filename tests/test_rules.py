"""In-process checks of the pure rules the stages share: labels, thresholds, conflicts."""

from __future__ import annotations

import numpy as np
import pytest

from curation.decisions import Decision, conflicted_groups
from happysad.common.errors import UsageError
from happysad.common.labels import check_label, is_label, slugify
from happysad.common.workspace import raw_path
from trainer.metrics import choose_threshold


@pytest.mark.parametrize(
    ("text", "slug"),
    [("Happy People!", "happy-people"), ("  sad   faces ", "sad-faces"), ("Ünïcödé smile", "unicode-smile"),
     ("../../etc/passwd", "etc-passwd"), ("😀", ""), ("x" * 100, "x" * 64)],
)  # fmt: skip
def test_slugify_gives_a_safe_folder_name_or_nothing(text: str, slug: str):
    assert slugify(text) == slug
    assert slug == "" or is_label(slug)


@pytest.mark.parametrize("label", ["../x", "/abs", "Happy", "a b", "", ".hidden", "x" * 65, "sad\n", None, 3])
def test_what_is_not_a_label(label):
    assert not is_label(label)


def test_check_label_is_bad_usage_naming_the_rule():
    assert check_label("happy-1") == "happy-1"
    with pytest.raises(UsageError, match="lower-case letters") as caught:
        check_label("../etc")
    assert caught.value.exit_code == 2


def test_raw_path_is_content_addressed_under_the_label():
    sha = "ab" * 32
    assert raw_path("happy", sha, "jpg") == f"raw/happy/{sha[:16]}.jpg"


def test_threshold_is_the_best_balanced_accuracy_and_ties_go_to_one_half():
    y = np.array([0, 0, 0, 1, 1, 1])
    assert choose_threshold(y, np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.9])) == pytest.approx(0.35)
    assert choose_threshold(y, np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])) == 0.5  # any in (0.3, 0.7]
    assert choose_threshold(np.array([1, 1]), np.array([0.2, 0.3])) == 0.5  # one class: nothing to tune
    assert choose_threshold(y, np.full((6, 2), 0.5)) == 0.5  # softmax: argmax, no threshold


def _row(path: str, label: str, group: str | None) -> dict[str, str | None]:
    return {"path": path, "label": label, "group_id": group}


def test_a_group_conflicts_while_its_kept_members_disagree():
    rows = [
        _row("a", "happy", "g1"),
        _row("b", "sad", "g1"),
        _row("c", "happy", "g2"),
        _row("d", "happy", "g2"),
        _row("e", "sad", None),
    ]
    assert conflicted_groups(rows, {}) == {"g1"}
    assert conflicted_groups(rows, {"b": Decision("happy", False)}) == set()  # relabelled
    assert conflicted_groups(rows, {"a": Decision("happy", True)}) == set()  # one side rejected
    assert conflicted_groups(rows, {"d": Decision("sad", False)}) == {"g1", "g2"}


def test_one_line_errors_maps_what_may_stop_any_command(capsys):
    import errno

    import typer
    from pymongo.errors import ServerSelectionTimeoutError

    from curation.database import lost
    from happysad.common.cli import one_line_errors

    def ends(exc: BaseException) -> tuple[int, str]:
        @one_line_errors("curate", lost_database=lost)
        def command() -> None:
            raise exc

        with pytest.raises(typer.Exit) as ended:
            command()
        return ended.value.exit_code, capsys.readouterr().err.strip()

    gone = ServerSelectionTimeoutError(
        "localhost:34207: [Errno 111] Connection refused\nTopology Description: ..."
    )
    assert ends(gone) == (
        1,
        "curate: error: the review database stopped answering "
        "(localhost:34207: [Errno 111] Connection refused); rerun",
    )
    full = OSError(errno.ENOSPC, "No space left on device", "/data/raw/x.jpg")
    assert ends(full) == (
        1,
        "curate: error: No space left on device: /data/raw/x.jpg; free some space and run the command again",
    )
    import sqlite3

    sqlite_full = sqlite3.OperationalError("database or disk is full")
    sqlite_full.sqlite_errorcode = sqlite3.SQLITE_FULL
    assert ends(sqlite_full) == (
        1,
        "curate: error: No space left on device; free some space and run the command again",
    )  # not "damaged": nothing to move aside
    assert ends(KeyboardInterrupt()) == (130, "curate: error: interrupted")
    assert ends(UsageError("bad")) == (2, "curate: error: bad")

    @one_line_errors("curate", lost_database=lost)
    def buggy() -> None:
        raise ValueError("a bug keeps its traceback")

    with pytest.raises(ValueError):
        buggy()


def test_a_small_validation_split_keeps_the_fallback_threshold_and_a_large_one_moves_it():
    from trainer.metrics import MOVE_THRESHOLD_AT, decision_threshold

    rng = np.random.default_rng(0)
    n = MOVE_THRESHOLD_AT
    y = np.repeat([0, 1], n)
    scores = np.concatenate([rng.uniform(0.0, 0.3, n), rng.uniform(0.25, 1.0, n)])  # best cut near 0.3
    assert decision_threshold(y, scores, 0.46) == (choose_threshold(y, scores), "validation")
    assert decision_threshold(y[:3], scores[:3], None)[1] == "validation"  # from scratch: nothing else
    assert choose_threshold(y, scores) < 0.35
    small = np.r_[0 : n - 1, n : 2 * n]  # one image short of enough for the first label
    assert decision_threshold(y[small], scores[small], 0.46) == (0.46, "fallback")
    assert decision_threshold(y, np.stack([1 - scores, scores], axis=1), 0.46) == (0.5, "argmax")


def test_wise_ft_puts_every_weight_between_the_start_and_the_fine_tune_and_frozen_blocks_stay():
    pytest.importorskip("keras")
    from trainer import finetune, models

    start, tuned = (models.compact(32, 1, 2) for _ in range(2))
    before = [w.numpy() for w in tuned.weights]
    finetune.interpolate(tuned, start, 0.25)
    for mixed, a, b in zip(tuned.weights, start.weights, before, strict=True):
        assert np.allclose(mixed.numpy(), 0.25 * b + 0.75 * a.numpy(), atol=1e-6)
    blocks = finetune.blocks_of(tuned)
    assert len(blocks) == len(models.WIDTHS) + 1  # four conv blocks, then the head
    finetune.freeze_blocks(tuned, 2)
    assert [layer.trainable for block in blocks for layer in block] == [False] * sum(map(len, blocks[:2])) + [
        True
    ] * sum(map(len, blocks[2:]))
    assert set(finetune.RECIPES) >= {"keep", "plain", "wise-ft", "lp-ft", "l2-sp", "lwf", "short", "frozen"}
    assert (finetune.default(True), finetune.default(False)) == ("keep", "plain")


def test_a_collect_that_stores_nothing_names_the_commonest_reason_and_what_lifts_it():
    from collections import Counter

    from collector.pipeline import Summary, nothing_stored

    summary = Summary("happy people", "happy", "bing", 10, "data")
    assert nothing_stored(summary) == "no image of 'happy people' (happy) stored"
    summary.reasons = Counter({"loopback address refused": 140, "http 404": 3})
    assert nothing_stored(summary) == (
        "no image of 'happy people' (happy) stored: 140 of 143 candidates loopback address refused; "
        "--allow-private lifts it"
    )
    summary.reasons = Counter({"disallowed by robots.txt": 5, "http 404": 1})
    assert nothing_stored(summary).endswith("disallowed by robots.txt; --ignore-robots lifts it")
    summary.reasons = Counter({"http 404": 2})
    assert nothing_stored(summary).endswith("2 of 2 candidates http 404")  # nothing to lift


def test_json_stdout_carries_the_json_value_alone_whatever_else_writes_to_it(tmp_path):
    """A --json command's stdout is one JSON value even when something below Python (a database
    service it starts, a C library, a child process) writes to file descriptor 1."""
    import subprocess
    import sys

    code = (
        "import json, os, subprocess, sys\n"
        "from happysad.common.cli import one_line_errors\n"
        "@one_line_errors('curate')\n"
        "def command(as_json: bool) -> None:\n"
        "    os.write(1, b'a C library says hello\\n')\n"
        "    subprocess.run(['echo', 'a child process says hello'])\n"
        "    print(json.dumps({'ok': 1}))\n"
        "command(as_json=sys.argv[1] == 'json')\n"
        "print('after')\n"
    )
    as_json = subprocess.run([sys.executable, "-c", code, "json"], capture_output=True, text=True, check=True)
    assert as_json.stdout == '{"ok": 1}\nafter\n'
    assert "a C library says hello" in as_json.stderr and "a child process says hello" in as_json.stderr
    plain = subprocess.run([sys.executable, "-c", code, "table"], capture_output=True, text=True, check=True)
    assert "a child process says hello" in plain.stdout  # without --json nothing is moved


def test_evidence_is_the_strongest_opinion_that_never_saw_the_label_and_the_prior_is_averaged_in():
    from curation.assist import weigh

    own, folds, prior = np.array([0.9, 0.1]), np.array([0.3, 0.7]), np.array([0.5, 0.5])
    assert weigh(own, "train", None, None) == (own, "in_sample")
    assert weigh(own, "test", None, None) == (own, "held_out")
    assert weigh(own, "unseen", None, None)[1] == "held_out"
    evidence, source = weigh(own, "train", folds, None)  # out-of-fold beats the run's own reading
    assert source == "out_of_fold" and evidence is folds
    evidence, source = weigh(own, "train", folds, prior)
    assert source == "out_of_fold+prior" and np.allclose(evidence, [0.4, 0.6])
    evidence, source = weigh(None, None, None, prior)  # the run could not read it; the prior could
    assert source == "prior" and evidence is prior
    assert weigh(None, None, None, None) == (None, None)


PLAN_SCRIPT = """
import json, sys
from pathlib import Path
from trainer.config import TrainConfig
from trainer.data import Item
from trainer.fitting import plan, tune_of
from trainer.run import PRIOR_DIR, open_run
from trainer.spec import ModelSpec

items = [Item(f"/x/{n}.jpg", "happy" if n < 30 else "sad", str(n)) for n in range(40)]
labels = ["happy", "sad"]
cfg = TrainConfig(Path("/x"), epochs=10, batch_size=16)
scratch = ModelSpec("compact", 48, "grayscale", None, {})
prior = open_run(PRIOR_DIR)
tuned = ModelSpec.of_run(prior)
notebook = ModelSpec("seed", 256, "rgb", None, {})
lp_ft = TrainConfig(Path("/x"), epochs=10, fine_tune="lp-ft")
short = TrainConfig(Path("/x"), epochs=10, fine_tune="short")
out = {
    "scratch": plan(cfg, scratch, labels, items, True, tune_of(cfg, scratch)).__dict__,
    "scratch_no_validation": plan(cfg, scratch, labels, items, False, tune_of(cfg, scratch)).__dict__,
    "lp_ft": plan(lp_ft, tuned, labels, items, True, tune_of(lp_ft, tuned)).__dict__,
    "short": plan(short, tuned, labels, items, True, tune_of(short, tuned)).__dict__,
    "soft": plan(cfg, scratch, labels, items, True, tune_of(cfg, scratch), soft_targets=True).__dict__,
    "seed": plan(cfg, notebook, labels, items, True, tune_of(cfg, notebook)).__dict__,
    "heavy": sorted(m for m in ("keras", "tensorflow") if m in sys.modules),
}
print(json.dumps(out))
"""


def test_the_fitting_plan_is_decided_without_keras():
    """trainer.fitting.plan: rates, epochs, class weights and stopping, as the recipes say,
    computed in a process that never imports Keras or TensorFlow."""
    import json
    import subprocess
    import sys

    from trainer.fitting import FINE_TUNE_RATE, SCRATCH_RATE

    done = subprocess.run([sys.executable, "-c", PLAN_SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["heavy"] == []
    scratch = got["scratch"]  # a small set from scratch: strong augmentation, no averaging
    assert (scratch["augmentation"], scratch["averaged"]) == ("strong", False)
    assert scratch["learning_rate"] == SCRATCH_RATE["strong"] and scratch["epochs"] == 10
    assert scratch["per_epoch"] == 3 and scratch["early_stop"] and scratch["smoothing"] == 0.1
    assert scratch["class_weight"] == {"0": 40 / 60, "1": 40 / 20}  # 30 happy, 10 sad: balanced
    assert not got["scratch_no_validation"]["early_stop"]  # a cross-fit fold trains its whole budget
    assert got["lp_ft"]["base_rate"] == FINE_TUNE_RATE  # the head alone at the full rate first
    assert got["lp_ft"]["learning_rate"] == pytest.approx(FINE_TUNE_RATE * 0.1)
    assert got["short"]["epochs"] == 3  # a third of --epochs
    assert got["soft"]["class_weight"] is None  # soft targets carry the balance
    seed = got["seed"]  # the notebook's CNN as the notebook trained it
    assert seed["as_notebook"] and seed["class_weight"] is None and seed["smoothing"] == 0.0
    assert seed["learning_rate"] == 1e-3 and not seed["early_stop"]
