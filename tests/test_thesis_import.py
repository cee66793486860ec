"""The thesis's published patch layout (``import-thesis``): a made-up set with every trap of the real one (stale
files, wrong shapes, bad masks, 0-filled QC failures, LST_err in the LST slot, no georeference, split by file name),
and the real sample beside the project where it is there."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from rocksoil_nb import cli, config
from rocksoil_nb.prepare import cube, patches, sources, steps, thesis_import
from rocksoil_nb.prepare.splits import SPLITS

ROWS, COLS, DATES = 140, 200, 4  # the area's grid: 2 x 3 windows of 64 px per date
REAL = Path(__file__).resolve().parents[2] / "shared" / "real" / "thesis_santa_olalla"


def _tif(path: Path, arr: np.ndarray) -> None:
    """A GeoTIFF with no CRS and no transform, as the thesis wrote them."""
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    arr = arr[None] if arr.ndim == 2 else arr
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", driver="GTiff", height=arr.shape[1], width=arr.shape[2], count=arr.shape[0],
                           dtype="float32") as d:
            d.write(arr.astype(np.float32))


def true_classes() -> np.ndarray:
    """The made-up geology: class 11 (Foliated) with a band of 8 (Carbonate) and a corner of 13 (Water)."""
    lab = np.full((ROWS, COLS), 11, np.uint8)
    lab[:, 70:110] = 8
    lab[100:, 150:] = 13
    return lab


def make_set(folder: Path, bands: int = 2, seed: int = 0) -> dict:
    """Write a data_thermal_<variant> folder; return what went in."""
    rng = np.random.default_rng(seed)
    lab = true_classes()
    pos, k = {}, 0
    for d in range(DATES):
        for r in (0, 64):
            for c in (0, 64, 128):
                err = 0.9 + 0.2 * d + rng.normal(0, 0.01, (64, 64))  # LST_err: one value per date, K
                emis = np.where(lab[r : r + 64, c : c + 64] == 8, 0.94, 0.97) + rng.normal(0, 0.002, (64, 64))
                err[:4, :4] = 0.0  # failed the thesis's QC whitelist
                emis[:4, :4] = 0.0
                err[60:, 60:] = np.nan  # no source data
                layers = [err, emis]
                if bands == 7:
                    vv = rng.uniform(0, 1, (64, 64))
                    layers += [rng.uniform(0, 255, (64, 64)) for _ in range(3)] + [vv, vv]
                elif bands == 4:  # the thermal_sar set as published: VV copied into the VH slot, min-max scaled
                    vv = rng.uniform(0, 1, (64, 64))
                    layers += [vv, vv]
                _tif(folder / "thermal" / f"{k}.tif", np.stack(layers))
                _tif(folder / "mask" / f"{k}.tif", lab[r : r + 64, c : c + 64].astype(np.float32))
                pos[str(k)] = {"x": r, "y": c, "date_idx": d}
                k += 1
    n_good = k
    _tif(folder / "thermal" / f"{k}.tif", np.ones((bands, 64, 64)))  # stale: no position
    _tif(folder / "mask" / f"{k}.tif", np.ones((64, 64)))
    k += 1
    _tif(folder / "thermal" / f"{k}.tif", np.ones((bands, 32, 32)))  # another shape
    _tif(folder / "mask" / f"{k}.tif", np.ones((32, 32)))
    pos[str(k)] = {"x": 0, "y": 0, "date_idx": 0}
    k += 1
    _tif(folder / "thermal" / f"{k}.tif", np.ones((bands, 64, 64)) * 0.95)  # another area's classes
    _tif(folder / "mask" / f"{k}.tif", np.full((64, 64), 20.0))
    pos[str(k)] = {"x": 0, "y": 0, "date_idx": 0}
    k += 1
    (folder / "thermal" / "notes.tif").write_bytes(b"")  # not a numbered file
    (folder / "patch_positions.json").write_text(json.dumps(pos))
    return {"good": n_good, "files": k, "labels": lab}


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def test_reader_leaves_out_what_the_thesis_loader_read_anyway(tmp_path):
    folder = tmp_path / "clone" / "Set-up" / "Thesis" / "Thesis" / "data_thermal_thermal_only"
    made = make_set(folder)
    assert thesis_import.find_sets(tmp_path / "clone") == [folder]
    s = thesis_import.read_folder(folder, progress=False)
    assert s.variant == "thermal_only" and s.x.shape == (made["good"], 2, 64, 64)
    reasons = dict(s.skipped)
    assert "stale" in reasons[f"thermal/{made['good']}.tif"]
    assert "shape" in reasons[f"thermal/{made['good'] + 1}.tif"]
    assert "class codes outside" in reasons[f"mask/{made['good'] + 2}.tif"]
    assert reasons["thermal/notes.tif"] == "not a numbered patch file"
    assert s.bands == ["LST_err", "EmisWB"]
    assert any("holds LST_err" in n and "tells dates apart" in n for n in s.notes)
    # the thesis's split: every numbered file (stale ones too) in lexicographic order, 70 / 15 / 15
    names = sorted(str(i) for i in range(made["files"]))
    n_train, n_val = int(0.7 * len(names)), int(0.15 * len(names))
    expect = {n: "train" if i < n_train else "val" if i < n_train + n_val else "test" for i, n in enumerate(names)}
    assert [expect[str(i)] for i in s.ids] == list(s.split)


def test_import_writes_the_area_and_never_touches_the_source(project):
    src = project / "clone" / "data_thermal_thermal_only"
    made = make_set(src)
    before = _digest(src)
    assert cli.main(["import-thesis", str(project / "clone"), "--area", "made_up", "--quiet"]) == 0
    cfg = config.load("made_up_thesis")
    assert cfg.source == "thesis_patches" and cfg.thesis_area == "made_up"
    assert _digest(src) == before
    ds = cube.open_cube(cfg.layout.cube)
    assert cube.band_names(ds) == ["LST_err", "EmisWB", "VV", "VH", "NDVI"]
    assert ds.sizes["time"] == DATES and not cube.dates_known(ds) and "is_day" not in cube.flags_known(ds)
    valid = ds["valid"].values.astype(bool)
    assert not valid[:, :4, :4].any() and not valid[:, 60:64, 60:64].any()  # 0-filled and NaN pixels are invalid
    assert valid[:, 10, 10].all() and not valid[:, 130:, :].any()  # rows past the 128-px crop hold no patch
    lab = cube.read_labels(cfg.layout.labels, cube.grid_of(ds))
    assert (lab[:128, :192] == made["labels"][:128, :192]).all() and (lab[128:] == 0).all()
    inv = steps.run_inventory(cfg)
    assert list(inv["date_idx"]) == list(range(DATES)) and (inv["patches"] == 6).all()
    rep = thesis_import.report(cfg)
    assert rep.sets[0]["left_out"] == 4 and len(thesis_import.left_out(cfg)) == 4
    assert "no CRS and no transform" in rep.grid["placement"]
    assert thesis_import.run(cfg, progress=False).skipped  # the same files: nothing written again
    assert "QC-screened" in sources.qc_example(cfg, inv).text and "date_idx 0" in sources.explain_pass(cfg, inv, 0)


def test_variants_and_the_file_name_split(project):
    src = project / "clone" / "data_thermal_thermal_only"
    make_set(src)
    name = thesis_import.import_area(project, "made_up", project / "clone")
    cfg = config.load(name, "standard")  # 32 px patches; its models include the whole-year tae
    thesis_import.run(cfg, progress=False)
    assert steps.available_variants(cfg) == ["thermal_only"]
    with pytest.raises(ValueError, match="does not know"):
        patches.variant_times(cube.pass_flags(cube.open_cube(cfg.layout.cube)), "day", cube.flags_known(cube.open_cube(cfg.layout.cube)))
    m = steps.run_patches(cfg, progress=False)["thermal_only"]
    assert m.bands == ["LST_err", "EmisWB"]
    assert set(m.kinds["cnn"].protocols) == {"thesis", "spatial", "thesis_files"}
    import pandas as pd

    df = pd.read_csv(cfg.layout.patches_dir("thermal_only") / "samples_cnn.csv").fillna("")
    ds = cube.open_cube(cfg.layout.cube)
    codes = ds["file_split"].values
    names = ("",) + SPLITS
    for r in df.sample(20, random_state=0).itertuples():
        assert r.split_thesis_files == names[codes[r.t, r.row + 16, r.col + 16]]
    assert {"train", "val", "test"} <= set(df["split_thesis_files"])
    from rocksoil_nb.learn import experiments

    runs = experiments.matrix(cfg)  # no dates: a block of consecutive dates stands in for a year, so tae runs too
    # 4 dates make no 5-date ConvLSTM sequence: that model is left out, not planned to fail
    assert {m for _, m, _ in runs} == set(cfg.profile.models) - {"convlstm"}
    assert {p for _, _, p in runs} == {"thesis", "spatial", "thesis_files"}
    year = pd.read_csv(cfg.layout.patches_dir("thermal_only") / "samples_year.csv")
    assert len(year) and set(year["year"]) == {0}  # 4 dates: one block (date_idx 0-3)
    assert (year[[f"t{i}" for i in range(DATES)]].to_numpy() == np.arange(DATES)).all()
    from rocksoil_nb.learn.inputs import date_planes, pass_dates

    doy, is_day = pass_dates(cfg.layout.cube)  # the season and day/night are not known: the planes do not make them up
    assert np.isnan(doy).all() and not is_day.any()
    planes = date_planes(doy[:2], is_day[:2], np.array([True, False]), 3)
    assert planes.shape == (2, 3, 3, 4) and planes[0, 1, 2].tolist() == [0.0, 0.0, 0.0, 1.0] and not planes[1].any()


def test_year_ids_are_calendar_years_or_blocks_of_dates():
    import pandas as pd
    import xarray as xr

    n = 2 * cube.UNDATED_YEAR_DATES + 5
    undated = xr.Dataset(coords={"time": np.full(n, np.datetime64("NaT"), "datetime64[ns]"), "date_idx": ("time", np.arange(n))},
                         attrs={"dates_known": False})
    ids = cube.year_ids(undated)
    assert ids.tolist() == [0] * cube.UNDATED_YEAR_DATES + [1] * cube.UNDATED_YEAR_DATES + [2] * 5
    dated = xr.Dataset(coords={"time": pd.to_datetime(["2021-12-31 23:00", "2022-01-01 01:00", "2023-06-01 00:00"]).values})
    assert cube.year_ids(dated).tolist() == [2021, 2022, 2023]


def test_seven_band_sets_name_the_sar_copy_and_drop_rgb(tmp_path):
    folder = tmp_path / "data_thermal_thermal_sar"
    make_set(folder, bands=7)
    s = thesis_import.read_folder(folder, progress=False)
    assert s.variant == "thermal_sar" and s.bands == ["LST_err", "EmisWB", "R", "G", "B", "VV", "VH"]
    assert any("copy of VV" in n for n in s.notes) and any("min-max" in n for n in s.notes)
    assert any("R, G, B" in n for n in s.notes)


def test_refuses_what_is_not_the_layout(tmp_path, project):
    (tmp_path / "photos").mkdir()
    with pytest.raises(thesis_import.NotThesisLayout, match="photos: not the thesis's patch layout"):
        thesis_import.find_sets(tmp_path / "photos")
    with pytest.raises(thesis_import.NotThesisLayout, match="no such file"):
        thesis_import.find_sets(tmp_path / "nowhere")
    assert cli.main(["import-thesis", str(tmp_path / "photos"), "--area", "made_up"]) == 2
    big = tmp_path / "big" / "data_thermal_thermal_only"
    make_set(big)
    pos = json.loads((big / "patch_positions.json").read_text())
    pos["0"]["y"] = 180  # reaches column 244 of a 200-column grid
    (big / "patch_positions.json").write_text(json.dumps(pos))
    cfg = config.load(thesis_import.import_area(project, "made_up", big, "made_up_big"))
    with pytest.raises(thesis_import.NotThesisLayout, match="outside the area's 140 x 200 grid"):
        thesis_import.run(cfg, big, progress=False)


@pytest.mark.skipif(not REAL.exists(), reason="the real development set is not beside the project")
def test_real_sample_reads_as_the_published_bundle():
    s = thesis_import.read_set(thesis_import.find_sets(REAL / "raw_sample")[0], progress=False)
    z = np.load(REAL / "santa_olalla_thermal_only.npz")
    k = np.searchsorted(z["patch_id"], s.ids)
    assert len(s.ids) == 24 and s.bands == ["LST_err", "EmisWB"]
    assert (z["y"][k] == s.y).all() and (z["positions"][k] == s.positions).all()
    x = np.transpose(z["X"][k].astype(np.float32), (0, 3, 1, 2))
    assert np.allclose(np.nan_to_num(x), np.nan_to_num(s.x), atol=2e-3)
    full = thesis_import.read_npz(REAL / "santa_olalla_thermal_only.npz")
    assert full.x.shape == (1755, 2, 64, 64) and full.dates == 110
    assert sorted(full.split[full.ids == 0]) == ["train"] and (full.split == "test").sum() == 1755 - int(0.7 * 1755) - int(0.15 * 1755)


def test_difficulty_on_an_imported_cube(project):
    from rocksoil_nb.analyse import difficulty

    make_set(project / "clone" / "data_thermal_thermal_only")
    cfg = config.load(thesis_import.import_area(project, "made_up", project / "clone"))
    thesis_import.run(cfg, progress=False)
    X, share = difficulty.cube_series(cfg.layout.cube)
    assert X.shape == (ROWS, COLS, 2 * DATES) and share.shape == (DATES,)
    assert np.allclose(X[10, 10, 0::2], 0, atol=0.05)  # LST_err minus the date's median: no signal about the ground
    d = difficulty.measure_cube(cfg.layout.cube, steps.load_labels(cfg), n_blocks=2, trees=10)
    assert d.scenes_used == DATES and d.series_oa > d.majority_oa  # emissivity tells Carbonate from Foliated
