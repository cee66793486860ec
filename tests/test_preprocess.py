"""03_preprocess and 05_patches: readers, QC rule, inventory, alignment, cube, patches and splits."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from rocksoil_nb import config
from rocksoil_nb.core import ecostress, io, solar
from rocksoil_nb.core.grid import Grid
from rocksoil_nb.prepare import cube, patches, splits
from rocksoil_nb.prepare import scenes as inventory

UTC = dt.UTC
REF = Grid("EPSG:32630", 400000.0, 4300000.0, 70.0, 20, 24)


@pytest.fixture()
def prep(demo_cfg):
    return demo_cfg.preprocess


@pytest.fixture()
def sfilter(demo_cfg):
    return demo_cfg.scene_filter


def write_pass(folder, t, grid=REF, lst=300.0, emis=0.96, lst_err=1.2, qc=None, cloud=None, skip=(), tile="30N"):
    """One ECOSTRESS pass in L2T format; values may be scalars or arrays."""
    shape = grid.shape
    qc = ecostress.pack_qc(mandatory=0, lst_accuracy=3) * np.ones(shape, np.uint16) if qc is None else qc
    layers = {"LST": np.broadcast_to(np.float32(lst), shape).astype(np.float32),
              "LST_err": np.broadcast_to(np.float32(lst_err), shape).astype(np.float32),
              "EmisWB": np.broadcast_to(np.float32(emis), shape).astype(np.float32), "QC": qc.astype(np.uint16),
              "cloud": (np.zeros(shape, np.uint8) if cloud is None else cloud.astype(np.uint8)), "water": np.zeros(shape, np.uint8)}
    for lay, arr in layers.items():
        if lay in skip:
            continue
        nod = np.nan if arr.dtype == np.float32 else (65535 if lay == "QC" else 255)
        io.write_geotiff(folder / ecostress.format_name(lay, t, tile), arr, grid.crs, grid.transform, nodata=nod)


def test_qc_rule_on_hand_built_patterns(prep):
    qc = ecostress.pack_qc(mandatory=np.array([0, 1, 2, 3, 0, 0, 0]), data_quality=np.array([0, 0, 0, 0, 1, 0, 0]),
                           lst_accuracy=np.array([3, 2, 3, 3, 3, 0, 1]))
    ok = ecostress.valid_mask(qc, np.zeros(7, np.uint8), np.full(7, 300.0), prep)
    assert ok.tolist() == [True, True, False, False, False, False, True]
    strict = dataclasses.replace(prep, valid_mandatory=[0], min_lst_accuracy=3)
    assert ecostress.valid_mask(qc, None, None, strict).tolist() == [True, False, False, False, False, False, False]
    cloud = np.array([1, 0, 0, 0, 0, 0, 0], np.uint8)
    assert not ecostress.valid_mask(qc, cloud, None, prep)[0]
    assert ecostress.valid_mask(qc, cloud, None, dataclasses.replace(prep, use_cloud_layer=False))[0]


def test_lst_err_never_read_as_lst(tmp_path, prep, sfilter):
    raw = tmp_path / "raw"
    (raw / "ecostress").mkdir(parents=True)
    for i in range(3):
        write_pass(raw / "ecostress", dt.datetime(2022, 7, 1 + i, 12, tzinfo=UTC), lst=310.0 + i, lst_err=1.5)
    inv = inventory.build(raw, prep, sfilter, progress=False)
    assert inv["kept"].all()
    p = cube.build(raw, inv, REF, tmp_path / "cube.zarr", prep, progress=False)
    ds = cube.open_cube(p)
    assert np.nanmedian(ds["data"].sel(band="LST").values, axis=(1, 2)).tolist() == [310.0, 311.0, 312.0]


def test_integer_coded_collection1_is_scaled(tmp_path):
    t = dt.datetime(2019, 8, 2, 21, 5, tzinfo=UTC)
    p = tmp_path / f"ECO2LSTE.001_SDS_LST_doy{t:%Y%j%H%M%S}_aid0001.tif"
    dn = np.full((4, 4), 15000, np.uint16)
    dn[0, 0] = 0  # fill
    io.write_geotiff(p, dn, REF.crs, REF.transform)
    lst, _ = ecostress.read_layer(p)
    assert np.isnan(lst[0, 0]) and lst[1, 1] == pytest.approx(300.0)
    bad = tmp_path / ecostress.format_name("LST", t)
    io.write_geotiff(bad, np.full((4, 4), 26.85, np.float32), REF.crs, REF.transform)  # Celsius by mistake
    with pytest.raises(ValueError, match="outside"):
        ecostress.read_layer(bad)


def test_scene_filter_thresholds(tmp_path, prep, sfilter):
    folder = tmp_path / "eco"
    folder.mkdir()
    n = REF.rows * REF.cols
    for i, frac in enumerate((0.09, 0.11)):
        cloud = np.zeros(n, np.uint8)
        cloud[: int(round(frac * n))] = 1
        write_pass(folder, dt.datetime(2022, 7, 1 + i, 12, tzinfo=UTC), cloud=cloud.reshape(REF.shape))
    inv = inventory.build(folder, prep, sfilter, progress=False)
    assert inv["kept"].tolist() == [True, False]
    assert inv["reason"].iloc[1].startswith("cloud 11% > 10%")
    loose = dataclasses.replace(sfilter, max_cloud_fraction=0.2)
    assert inventory.build(folder, prep, loose, progress=False)["kept"].all()


def test_day_night_by_local_solar_time_or_clock():
    t = dt.datetime(2021, 6, 22, 6, 10, tzinfo=UTC)  # 06:10 UTC; local solar ~05:50 at 6.3° W
    assert solar.day_or_night(t, -6.3, "solar") == "night"
    assert solar.day_or_night(t, -6.3, "clock") == "day"
    assert solar.day_or_night(dt.datetime(2021, 6, 22, 12, 0, tzinfo=UTC), -4.0, "solar") == "day"
    assert solar.season_thesis(dt.date(2021, 3, 21)) == "winter" and solar.season_thesis(dt.date(2021, 3, 22)) == "summer"
    assert solar.season_thesis(dt.date(2021, 9, 21)) == "summer" and solar.season_thesis(dt.date(2021, 9, 22)) == "winter"


def test_bad_inputs_are_dropped_with_reasons(tmp_path, prep, sfilter):
    folder = tmp_path / "eco"
    folder.mkdir()
    write_pass(folder, dt.datetime(2022, 1, 1, 12, tzinfo=UTC))
    write_pass(folder, dt.datetime(2022, 1, 2, 12, tzinfo=UTC))
    write_pass(folder, dt.datetime(2022, 1, 3, 12, tzinfo=UTC), skip=("QC",))
    write_pass(folder, dt.datetime(2022, 1, 4, 12, tzinfo=UTC), lst=np.nan)
    t5 = dt.datetime(2022, 1, 5, 12, tzinfo=UTC)
    write_pass(folder, t5)
    (folder / ecostress.format_name("LST", t5)).write_bytes(b"corrupt")
    far = Grid("EPSG:32630", 100000.0, 4000000.0, 70.0, 20, 24)
    write_pass(folder, dt.datetime(2022, 1, 6, 12, tzinfo=UTC), grid=far)
    geo = Grid("EPSG:4326", -3.0, 38.9, 0.001, 20, 24)
    write_pass(folder, dt.datetime(2022, 1, 7, 12, tzinfo=UTC), grid=geo)
    inv = inventory.build(folder, prep, sfilter, ref=REF, progress=False).set_index(pd.Index(range(1, 8)))
    assert inv.loc[[1, 2], "kept"].all()
    assert inv.loc[3, "reason"] == "missing layer(s): QC"
    assert "no valid pixel" in inv.loc[4, "reason"]
    assert "not a readable GeoTIFF" in inv.loc[5, "reason"]
    assert "no overlap" in inv.loc[6, "reason"]
    assert inv.loc[7, "grid"].startswith("other CRS")


def test_alignment_shift_and_reprojection():
    a = np.arange(20 * 24, dtype=np.float32).reshape(20, 24)
    shifted = REF.shifted(1, -1)
    out = cube.align(a, {"crs": _crs(), "transform": shifted.transform}, REF)
    assert np.isnan(out[0]).all() and np.isnan(out[:, -1]).all()
    assert np.array_equal(out[1:, :-1], a[:-1, 1:])
    fine = Grid("EPSG:32630", REF.x0, REF.y0, 35.0, 40, 48)
    f = np.kron(a, np.ones((2, 2), np.float32))
    back = cube.align(f, {"crs": _crs(), "transform": fine.transform}, REF, "average")
    assert np.allclose(back, a)
    db = cube.align(np.full((40, 48), -10.0, np.float32), {"crs": _crs(), "transform": fine.transform}, REF, "power_db")
    assert np.allclose(db, -10.0, atol=1e-4)
    with pytest.raises(cube.AlignmentError, match="no overlap"):
        cube.align(a, {"crs": _crs(), "transform": Grid("EPSG:32630", 0.0, 0.0, 70.0, 20, 24).transform}, REF)


def _crs():
    from rasterio.crs import CRS

    return CRS.from_string("EPSG:32630")


def test_label_raster_on_another_grid_is_refused(tmp_path):
    io.write_geotiff(tmp_path / "labels.tif", np.ones((10, 10), np.uint8), REF.crs, REF.transform)
    with pytest.raises(ValueError, match="not on the thermal reference grid"):
        cube.read_labels(tmp_path / "labels.tif", REF)


# --------------------------------------------------------------------------- patches and splits


def reassemble(patches: np.ndarray, pos: list[tuple[int, int]], shape: tuple[int, int]) -> np.ndarray:
    """Place patches (N, P, P) back at their positions (later patches overwrite overlaps)."""
    out = np.zeros(shape, dtype=patches.dtype)
    p = patches.shape[1]
    for a, (r, c) in zip(patches, pos):
        out[r : r + p, c : c + p] = a
    return out


def test_patches_reassemble_to_the_labels_exactly():
    rng = np.random.default_rng(0)
    lab = rng.integers(0, 14, (37, 53)).astype(np.uint8)
    for size, overlap in ((16, 0.5), (16, 0.0), (32, 0.5)):
        pos = patches.positions(lab.shape, size, overlap)
        cut = np.stack([lab[r : r + size, c : c + size] for r, c in pos])
        assert np.array_equal(reassemble(cut, pos, lab.shape), lab)


def test_sequences_are_one_place_in_time_order():
    rng = np.random.default_rng(1)
    valid = rng.random((12, 32, 32)) > 0.1
    lab = np.ones((32, 32), np.uint8)
    times = np.array([0, 2, 3, 5, 6, 7, 9, 10, 11])
    pos = patches.positions(lab.shape, 16, 0.5)
    seq = patches.samples(valid, lab, times, pos, 16, 0.5, seq_len=5, seq_stride=3)
    tcols = [f"t{i}" for i in range(5)]
    assert len(seq) > 0
    for _, s in seq.iterrows():
        ts = s[tcols].to_numpy()
        k = list(times).index(ts[0])
        assert list(ts) == list(times[k : k + 5])  # consecutive kept dates, in order
    assert set(seq["t0"]) == {0, 5}  # stride 3 over the 9 kept dates: windows start at the 1st and 4th
    valid[10] = False  # the last frame of the second window is empty → that window is dropped
    seq2 = patches.samples(valid, lab, times, pos, 16, 0.5, seq_len=5, seq_stride=3)
    assert set(seq2["t0"]) == {0}


def test_spatial_split_is_disjoint_with_buffer():
    rng = np.random.default_rng(2)
    lab = (rng.integers(1, 6, (10, 12)).repeat(12, 0).repeat(12, 1)).astype(np.uint8)  # 120 x 144
    pos = patches.positions(lab.shape, 16, 0.5)
    sp = splits.make_spatial_split(lab, 16, pos, block_patches=2, buffer_patches=1.0)
    a = splits.assign_split(np.array(pos), 16, sp)
    assert {"train", "val", "test"} <= set(a)
    assert sp.classes_missing_in_train == []
    masks = {}
    for s in ("train", "val", "test"):
        m = np.zeros(lab.shape, bool)
        for (r, c), x in zip(pos, a):
            if x == s:
                m[r : r + 16, c : c + 16] = True
        masks[s] = m
    from scipy import ndimage

    for s1, s2 in (("train", "test"), ("train", "val"), ("val", "test")):
        assert not (masks[s1] & masks[s2]).any()
        gap = ndimage.distance_transform_cdt(~masks[s2], metric="chessboard")[masks[s1]].min()
        assert gap > 16  # more than one patch of pixels between the closest pixels


def test_thesis_split_is_chronological():
    t = np.repeat(np.arange(20), 3)
    s = splits.thesis_split(t)
    assert set(t[s == "test"]) == {17, 18, 19} and set(t[s == "val"]) == {14, 15, 16}
    assert t[s == "train"].max() < t[s == "val"].min() < t[s == "test"].min()


def test_norm_stats_from_training_windows_only():
    rng = np.random.default_rng(3)
    data = rng.normal(300, 5, (4, 2, 32, 32)).astype(np.float32)
    valid = np.ones((4, 32, 32), bool)
    train = pd.DataFrame({"t": [0, 1], "row": [0, 0], "col": [0, 0]})
    st = patches.norm_stats(data, valid, train, 16, [0, 1], ["t"])
    expect = data[[0, 1]][:, :, :16, :16]
    assert st.mean[0] == pytest.approx(float(expect[:, 0].mean()), rel=1e-6)
    assert st.std[1] == pytest.approx(float(expect[:, 1].std()), rel=1e-4)
    data[2:] += 1000  # evaluation dates changed: the statistics must not move
    data[:, :, 16:, 16:] -= 1000  # nor when pixels outside the training windows change
    assert patches.norm_stats(data, valid, train, 16, [0, 1], ["t"]).mean == st.mean


def test_variant_selection():
    coords = pd.DataFrame({"is_day": [True, False, True], "is_summer": [True, True, False], "has_sar": [False, True, True],
                           "has_ndvi": [True, True, True]})
    assert patches.variant_times(coords, "night").tolist() == [1]
    assert patches.variant_times(coords, "winter").tolist() == [2]
    assert patches.variant_times(coords, "thermal_sar").tolist() == patches.variant_times(coords, "sar_thermal_only").tolist() == [1, 2]
    assert patches.VARIANTS["thermal_sar"]["bands"] == ("LST", "EmisWB", "VV", "VH")
    with pytest.raises(ValueError, match="unknown variant"):
        patches.variant_times(coords, "autumn")


def test_config_preprocess_validation(root):
    with pytest.raises(config.ParameterError, match="daynight_rule"):
        config.load("demo", "quick", root=root, overrides={"preprocess": {"daynight_rule": "sun"}})
