"""happysad from Python: the command line's steps as methods, one to one.

Each method returns the dataclass whose fields the command's `--json` prints, and raises the
typed errors of `happysad.common.errors` (a `HappysadError` whose message is one line for the
user), never `SystemExit`. Nothing heavy is imported until a step needs it: TensorFlow with the
first model, FiftyOne with the first review.

Example, the seed tutorial's loop (the demo search engine stands in for Bing)::

    import happysad

    ws = happysad.Workspace("data")
    ws.collect("happy people", label="happy", limit=300)
    ws.collect("sad people", label="sad", limit=300)
    ws.dedupe()
    ws.review()                      # the FiftyOne dataset; ws.app() opens the App on it
    ws.export()
    model = happysad.train(ws.curated)
    model.evaluate("other-scrape")   # honest figures come from another scrape
    model.predict(["photo.jpg"])
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from happysad.common.workspace import CURATED, CURATED_FACES, chosen_data_dir, resolve_data_dir

if TYPE_CHECKING:
    from collector.downloader import DownloadSettings
    from collector.pipeline import Summary
    from curation.api import ReviewReport
    from curation.dedupe import DedupeReport
    from curation.export import ExportReport
    from curation.face_scan import FacesReport
    from curation.importer import ImportSummary
    from curation.scan import ScanReport
    from trainer.api import ModelExport
    from trainer.predict import Prediction
    from trainer.run import Run
    from trainer.train import TrainResult


def _given(**options: Any) -> dict[str, Any]:
    """The options a caller gave: None leaves the step's own default (one home for each, in the
    stage that owns it, which `import happysad` does not load)."""
    return {name: value for name, value in options.items() if value is not None}


class Workspace:
    """A workspace folder: raw/ (what `collect` wrote), the catalog, curated/ and runs/.

    `path`: as `--data` takes it (None: $HAPPYSAD_DATA, else ./data). Like the commands,
    only `collect` and `import_folder` create it. `progress`: None shows bars where someone
    watches (a terminal, a notebook), False never.

    Examples:
        >>> ws = Workspace("data")
        >>> ws.curated.relative_to(ws.path)
        PosixPath('curated')
    """

    def __init__(self, path: str | Path | None = None, progress: bool | None = None) -> None:
        self.path = chosen_data_dir(Path(path) if path is not None else None)
        self.progress = progress

    def _dir(self, create: bool = False) -> Path:
        """The folder, checked as the commands check `--data` (WorkspaceError otherwise)."""
        return resolve_data_dir(self.path, create=create)

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    @property
    def curated(self) -> Path:
        """Where `export` writes the class folders (`<workspace>/curated`)."""
        return self.path / CURATED

    @property
    def curated_faces(self) -> Path:
        """Where `export(faces=True)` writes the face crops (`<workspace>/curated-faces`)."""
        return self.path / CURATED_FACES

    def collect(
        self,
        query: str,
        label: str | None = None,
        engine: str | None = None,
        limit: int | None = None,
        endpoint: str | None = None,
        settings: DownloadSettings | None = None,
        min_size: int | None = None,
        retry_failed: bool = False,
        browser_path: str | None = None,
    ) -> Summary:
        """`collect QUERY`: search, download into raw/<label>/, record every candidate's fate.

        `engine`, `limit` and `min_size` default to `collect`'s (bing, 100, 64 px); `settings`
        holds the downloader's limits (`collector.downloader.DownloadSettings`:
        concurrency, politeness, `allow_private` for a site on loopback). Runs inside
        Jupyter's event loop too. Raises `CollectStopped` (its `.summary` says what was done).

        Examples:
            >>> ws.collect("happy people", label="happy", limit=300)  # doctest: +SKIP
        """
        from collector import api
        from collector.api import Search

        search = Search(
            query, label, endpoint=endpoint, browser_path=browser_path, **_given(engine=engine, limit=limit)
        )
        return api.collect(
            self._dir(create=True),
            search,
            settings,
            retry_failed=retry_failed,
            progress=self.progress,
            **_given(min_size=min_size),
        )

    def import_folder(self, source: str | Path) -> ImportSummary:
        """`curate import SOURCE`: copy a <label>/<images> tree into the workspace.

        Examples:
            >>> ws.import_folder("seed-scrape").per_label  # doctest: +SKIP
            {'happy': 151, 'sad': 150}
        """
        from curation import api

        return api.import_folder(self._dir(create=True), Path(source))

    def scan(self, min_size: int | None = None) -> ScanReport:
        """`curate scan`: decode every new image; flag corrupt, non-image, small, animated, bombs.

        Examples:
            >>> ws.scan().flags  # doctest: +SKIP
            Counter({'not_image': 2, 'small': 1})
        """
        from curation import api

        return api.scan(self._dir(), min_size, self.progress)

    def dedupe(self, threshold: int | None = None, min_size: int | None = None) -> DedupeReport:
        """`curate dedupe`: exact and near-duplicate groups (pHash), cross-label conflicts.

        Examples:
            >>> ws.dedupe().conflicts  # doctest: +SKIP
            [['raw/happy/a.jpg', 'raw/sad/b.jpg']]
        """
        from curation import api, grouping

        return api.dedupe(
            self._dir(), grouping.THRESHOLD if threshold is None else threshold, min_size, self.progress
        )

    def faces(self, detector: str | None = None, min_detect: int | None = None) -> FacesReport:
        """`curate faces`: find the faces of every kept image; tag the rest no_face.

        Examples:
            >>> ws.faces().no_face_rate  # doctest: +SKIP
            0.08
        """
        from curation import api
        from happysad.faces import detectors

        chosen = detector or detectors.DEFAULT
        return api.find_faces(self._dir(), chosen, min_detect or detectors.MIN_DETECT, progress=self.progress)

    def review(
        self, predictions: str | Path | None = None, top: int | None = None, faces: bool | None = None
    ) -> ReviewReport:
        """`curate review --no-app`: bring the FiftyOne dataset up to date; with `predictions`
        (a run, a `Model`, or "prior") rank the labels the evidence disputes, the `top` of them
        (default: `curate review --top`'s) listed in the report.

        Examples:
            >>> ws.review(predictions="prior").predictions.suspects[0]  # doctest: +SKIP
        """
        from curation import api

        run = Path(str(getattr(predictions, "path", predictions))) if predictions is not None else None
        return api.review(self._dir(), run, faces=faces, progress=self.progress, **_given(top=top))

    def dataset(self) -> Any:
        """The workspace's `fiftyone.Dataset` (after `review`): views, tags and fields to query.

        Examples:
            >>> ws.dataset().load_saved_view("conflicts")  # doctest: +SKIP
        """
        from curation import database
        from curation.review import dataset_name

        return database.fiftyone().load_dataset(dataset_name(self._dir()))

    def app(self, port: int = 5151) -> Any:
        """The FiftyOne App on the dataset; in a notebook, `session.show()` draws it in the cell.

        Examples:
            >>> ws.app().show()  # doctest: +SKIP
        """
        from curation import database

        return database.fiftyone().launch_app(self.dataset(), port=port, auto=False)

    def export(
        self,
        out: str | Path | None = None,
        faces: bool = False,
        margin: float | None = None,
        min_face: int | None = None,
        allow_empty: bool = False,
    ) -> ExportReport:
        """`curate export`: class folders and manifest.csv (face crops with `faces=True`).

        Examples:
            >>> ws.export().left_out  # doctest: +SKIP
            Counter({'duplicate of the keeper': 12, 'label conflict': 2})
        """
        from curation import api
        from happysad.faces import crops

        margin = crops.MARGIN if margin is None else margin
        min_face = crops.MIN_FACE if min_face is None else min_face
        return api.export(self._dir(), Path(out) if out else None, faces, margin, min_face, allow_empty)

    def status(self) -> dict[str, Any]:
        """`curate status`: counts per label and flag, groups, conflicts, pending review.

        Examples:
            >>> ws.status()["labels"]  # doctest: +SKIP
            {'happy': 300, 'sad': 300}
        """
        from curation import api

        return api.status(self._dir())


class Model:
    """A trained run (or the shipped prior): evaluate, predict, export.

    Examples:
        >>> model = load("prior")  # doctest: +SKIP
        >>> model.labels  # doctest: +SKIP
        ['happy', 'sad']
    """

    def __init__(self, run: Run, result: TrainResult | None = None) -> None:
        self.run = run
        self.result = result  # what `train --json` printed, when this process trained it

    def __repr__(self) -> str:
        return f"Model({str(self.path)!r})"

    @property
    def path(self) -> Path:
        """The run's folder (model.keras, config.json, metrics.json, report.html, ...)."""
        return self.run.path

    @property
    def labels(self) -> list[str]:
        """The labels it tells apart, in the order of its scores."""
        return self.run.labels

    def evaluate(self, data_dir: str | Path, faces: bool | None = None) -> dict[str, object]:
        """`evaluate RUN DIR`: figures with their n and 95% intervals on a <label>/<images> tree.

        Examples:
            >>> model.evaluate("other-scrape/curated")["balanced_accuracy_ci95"]  # doctest: +SKIP
            [0.854, 0.941]
        """
        from trainer import api

        return api.evaluate(self.run, Path(data_dir), faces)

    def predict(self, paths: list[str | Path], faces: bool | None = None) -> list[Prediction]:
        """`predict RUN PATHS`: a label and probability per image (and per face on face runs).

        Examples:
            >>> model.predict(["photo.jpg"])[0].label  # doctest: +SKIP
            'happy'
        """
        from trainer import api

        return api.predict(self.run, [str(p) for p in paths], faces)

    def export(self, out: str | Path, format: str = "savedmodel") -> ModelExport:
        """`export-model RUN --out OUT`: a SavedModel or a .tflite (`format="tflite"`).

        Examples:
            >>> model.export("exported/happysad/1").files  # doctest: +SKIP
        """
        from trainer import api
        from trainer.export import Format

        return api.export_model(self.run, Path(out), Format(format))


def load(run: str | Path = "prior") -> Model:
    """A run directory, its model.keras, or "prior" (the expression model shipped inside).

    Examples:
        >>> load("prior").predict(["photo.jpg"])  # doctest: +SKIP
    """
    from trainer import api

    return Model(api.load(run))


def train(
    data_dir: str | Path,
    out: str | Path | None = None,
    progress: bool | None = None,
    **options: Any,
) -> Model:
    """`train DATA_DIR`: options as `trainer.config.TrainConfig` names them (`epochs=5`,
    `arch="seed"`, `whole_frame=True`, `cross_fit=3`, ...); the result is on `.result`.

    Examples:
        >>> model = train(ws.curated, epochs=5)  # doctest: +SKIP
        >>> model.result.metrics["test"]["balanced_accuracy"]  # doctest: +SKIP
    """
    from trainer import api
    from trainer.config import TrainConfig

    result = api.train(TrainConfig.of(data_dir, out, **options), progress)
    return Model(api.load(result.run), result)
