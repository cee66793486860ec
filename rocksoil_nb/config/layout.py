"""Every path the workbook reads or writes, in one place.

``cfg.layout`` (an :class:`Layout`) owns the folders of one area and profile::

    data/<aoi>/raw/                          immutable downloads or simulation
    data/<aoi>/interim/                      labels.tif, inventory.csv, cube.zarr, cube_times.csv
    data/<aoi>/truth/                        the simulator's truth (simulated areas only)
    data/<aoi>/patches/<key>/<variant>/      datasets; <key> = patch size + hash of the patch settings
    models/<aoi>/<profile>/<variant>-<model>-<protocol>/   trained runs (training seed 0)
    models/<aoi>/<profile>/seed<s>/<variant>-<model>-<protocol>/   the same runs with training seed s (profile `seeds`)
    models/<aoi>/<profile>/tune/, sweeps/, losses/, optuna.db, best_params.json
    reports/<aoi>/<profile>/                 executed notebooks, tables/, maps/<run>/, index.html

Datasets are shared by every profile with the same patch settings; models and reports carry the
profile, so a ``standard`` run never lands in the folder of a ``quick`` one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

RUN_SEP = "-"
SEED_PREFIX = "seed"


@dataclass(frozen=True)
class RunName:
    """The three parts of a trained run's folder name ``<variant>-<model>-<protocol>``."""

    variant: str
    model: str
    protocol: str

    def __str__(self) -> str:
        return RUN_SEP.join((self.variant, self.model, self.protocol))

    @classmethod
    def parse(cls, name: str) -> RunName:
        """Split a run folder name; raise ``ValueError`` naming it when it is not of that form."""
        parts = Path(name).name.split(RUN_SEP)
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{name}: not a run folder name <variant>-<model>-<protocol>")
        return cls(*parts)


@dataclass(frozen=True)
class Layout:
    """Paths of one area (``area``) and profile under the working folder ``workdir``."""

    workdir: Path
    area: str
    profile: str
    patch_key: str = "default"

    # ---- data/<aoi>/ ------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.workdir / "data" / self.area

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def interim_dir(self) -> Path:
        return self.data_dir / "interim"

    @property
    def truth_dir(self) -> Path:
        return self.data_dir / "truth"

    @property
    def labels(self) -> Path:
        """The class raster on the thermal grid (02_labels)."""
        return self.interim_dir / "labels.tif"

    @property
    def ati(self) -> Path:
        """The apparent-thermal-inertia map beside the labels (04_signatures)."""
        return self.interim_dir / "ati.tif"

    @property
    def inventory(self) -> Path:
        """The scene inventory (03_preprocess)."""
        return self.interim_dir / "inventory.csv"

    @property
    def cube(self) -> Path:
        """The aligned per-date cube (03_preprocess)."""
        return self.interim_dir / "cube.zarr"

    def cube_for(self, variant: str) -> Path:
        """The cube a variant's dataset is cut from: ``cube_<variant>.zarr`` where a thesis import wrote one for
        that variant (its own published set), else the area's cube."""
        own = self.interim_dir / f"cube_{variant}.zarr"
        return own if own.exists() else self.cube

    @property
    def patches_root(self) -> Path:
        return self.data_dir / "patches" / self.patch_key

    def patches_dir(self, variant: str) -> Path:
        """One variant's dataset (05_patches)."""
        return self.patches_root / variant

    # ---- models/<aoi>/<profile>/ --------------------------------------------------
    @property
    def models_root(self) -> Path:
        return self.workdir / "models"

    @property
    def models_dir(self) -> Path:
        return self.models_root / self.area / self.profile

    def run_dir(self, variant: str, model: str, protocol: str, seed: int = 0) -> Path:
        """A trained run (07_train); a run of another training seed than 0 lies under ``seed<s>/``."""
        return self.seed_dir(seed) / str(RunName(variant, model, protocol))

    def seed_dir(self, seed: int) -> Path:
        """Folder of the runs of training seed ``seed`` (0: the models folder itself, the runs maps are drawn from)."""
        return self.models_dir if seed == 0 else self.models_dir / f"{SEED_PREFIX}{int(seed)}"

    def run_dirs(self, seeds: Iterable[int] = (0,)) -> list[Path]:
        """Finished runs (a ``metrics.json``) of this area and profile, by seed and name (seed 0 only by default)."""
        return [p.parent for s in seeds for p in sorted(self.seed_dir(s).glob(f"*{RUN_SEP}*{RUN_SEP}*/metrics.json"))]

    @property
    def optuna_db(self) -> Path:
        return self.models_dir / "optuna.db"

    @property
    def best_params(self) -> Path:
        """The tuned hyperparameters 07 takes with ``use_tuned`` (06_tune)."""
        return self.models_dir / "best_params.json"

    def tune_dir(self, study: str) -> Path:
        return self.models_dir / "tune" / study

    @property
    def sweeps_dir(self) -> Path:
        return self.models_dir / "sweeps"

    @property
    def losses_dir(self) -> Path:
        return self.models_dir / "losses"

    # ---- reports/<aoi>/<profile>/ -------------------------------------------------
    @property
    def reports_root(self) -> Path:
        return self.workdir / "reports"

    @property
    def reports_dir(self) -> Path:
        return self.reports_root / self.area / self.profile

    @property
    def tables_dir(self) -> Path:
        return self.reports_dir / "tables"

    @property
    def timing_file(self) -> Path:
        """Wall and CPU seconds of each notebook of the last report (written by ``rocksoil_nb.report``)."""
        return self.reports_dir / "timing.csv"

    def maps_dir(self, variant: str, model: str, protocol: str) -> Path:
        """Full-scene maps of one run (08_evaluate)."""
        return self.reports_dir / "maps" / str(RunName(variant, model, protocol))
