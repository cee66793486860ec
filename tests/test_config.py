import pytest

from rocksoil_nb import config

from .conftest import make_project


@pytest.mark.parametrize("aoi", ["demo", "villoslada", "puertollano", "santa_olalla"])
@pytest.mark.parametrize("profile", ["quick", "standard", "thesis"])
def test_every_area_and_profile_loads(root, aoi, profile):
    cfg = config.load(aoi, profile, root=root)
    assert cfg.name == aoi
    assert cfg.area.crs == ("EPSG:32629" if aoi.startswith("santa_olalla") else "EPSG:32630")  # the zone each lies in
    assert set(cfg.classes.weights) == set(range(14))
    assert cfg.hyperparameters.l2 == (0.05 if profile == "thesis" else 1e-4)  # Table 11's L2 only with its 150 epochs
    assert cfg.profile_name == profile


def test_thesis_grids_and_table12(root):
    shapes = {"puertollano": [273, 415], "santa_olalla": [278, 426], "villoslada": [267, 397]}
    for aoi, shape in shapes.items():
        assert config.load(aoi, root=root).area.shape == shape
    p = config.load("puertollano", root=root)
    assert p.classes.weights[11] == 15.0 and p.classes.weights[1] == 10.0  # Table 12: Foliated, Sand
    assert config.load("villoslada", root=root).classes.weights[5] == 5.0  # Peat
    assert config.load("puertollano", "thesis", root=root).hyperparameters.learning_rate == {"cnn": 1e-5, "convlstm": 1e-4}  # Table 11


def test_profiles_scale_epochs(root):
    q, s, t = (config.load("demo", p, root=root) for p in ("quick", "standard", "thesis"))
    assert t.hyperparameters.epochs == 150 and max(q.hyperparameters.epochs, s.hyperparameters.epochs) <= 10
    assert (q.profile.budget_minutes, s.profile.budget_minutes) == (5, 90)  # stated budgets (README)
    assert q.hyperparameters.learning_rate["cnn"] >= 1e-3 and s.hyperparameters.learning_rate["cnn"] >= 1e-3  # short runs
    assert q.profile.tuning_epochs < q.hyperparameters.epochs and s.hyperparameters.patch_size < t.hyperparameters.patch_size
    assert t.classes.include_nodata and not q.classes.include_nodata


def test_unknown_key_names_file_and_key(tmp_path, root):
    r = make_project(tmp_path, lambda d: d["area"].update(pixel_size=70))
    with pytest.raises(config.ParameterError) as e:
        config.load("demo", "quick", root=r)
    assert "demo.yaml" in str(e.value) and "area.pixel_size" in str(e.value)


def test_wrong_type_names_file_and_key(tmp_path, root):
    r = make_project(tmp_path, lambda d: d["simulator"]["climate"].update(vegetation="lots"))
    with pytest.raises(config.ParameterError) as e:
        config.load("demo", "quick", root=r)
    assert "demo.yaml" in str(e.value) and "simulator.climate.vegetation" in str(e.value) and "number" in str(e.value)


def test_bad_source_and_bad_class_code(tmp_path, root):
    r = make_project(tmp_path, lambda d: d.update(source="ftp"))
    with pytest.raises(config.ParameterError, match="source"):
        config.load("demo", "quick", root=r)


def test_weight_code_out_of_range(tmp_path, root):
    r = make_project(tmp_path, lambda d: d["classes"]["weights"].update({14: 1.0}))
    with pytest.raises(config.ParameterError, match="outside 0-13"):
        config.load("demo", "quick", root=r)


def test_unknown_area_lists_known(root):
    with pytest.raises(config.ParameterError, match="villoslada"):
        config.load("atlantis", root=root)


def test_a_key_given_twice_is_an_error_naming_it_and_both_lines(tmp_path, root):
    import shutil

    (tmp_path / "parameters").mkdir()
    shutil.copy(root / "parameters" / "profiles.yaml", tmp_path / "parameters")
    text = (root / "parameters" / "demo.yaml").read_text()
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("  shape:"))
    dup = "\n".join(lines[: i + 1] + [lines[i].replace("96", "97")] + lines[i + 1 :]) + "\n"
    (tmp_path / "parameters" / "demo.yaml").write_text(dup)
    with pytest.raises(config.ParameterError, match=rf"duplicate key 'shape': given on line {i + 1} and again on line {i + 2}"):
        config.load("demo", "quick", root=tmp_path)


@pytest.mark.parametrize("seeds, ok", [([0], True), ([0, 1, 2], True), ([], False), ([1, 1], False), ([-1], False)])
def test_profile_seeds_are_distinct_and_not_negative(tmp_path, root, seeds, ok):
    r = make_project(tmp_path, profiles=lambda p: p["quick"].update(seeds=seeds))
    if ok:
        assert config.load("demo", "quick", root=r).profile.seeds == seeds
    else:
        with pytest.raises(config.ParameterError, match="seeds"):
            config.load("demo", "quick", root=r)
