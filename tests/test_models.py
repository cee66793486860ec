"""Models, losses, training: shapes, hand-computed losses, overfitting a simple pattern, resume, seeds, JAX."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from rocksoil_nb import api  # noqa: E402
from rocksoil_nb.learn import losses, metrics, models  # noqa: E402


@pytest.mark.parametrize("name,shape", [("cnn", (16, 16, 2)), ("cnn", (32, 24, 4)), ("cnn", (64, 64, 1)),
                                        ("convlstm", (5, 16, 16, 2)), ("convlstm", (3, 32, 16, 4)),
                                        ("tae", (5, 16, 16, 2 + 4)), ("tae", (2, 32, 32, 3 + 4)), ("tae", (40, 16, 16, 2 + 4))])
def test_output_shapes(name, shape):
    m = models.build(name, shape, base_filters=4)
    x = np.random.default_rng(0).normal(size=(2, *shape)).astype("float32")
    p = np.asarray(m(x, training=False))
    assert p.shape == (2, shape[-3], shape[-2], 14)
    assert np.allclose(p.sum(-1), 1.0, atol=1e-4)


def test_wrong_input_rank_is_a_clear_error():
    with pytest.raises(ValueError, match="T, H, W, C"):
        models.build("convlstm", (16, 16, 2))
    with pytest.raises(ValueError, match="date planes"):
        models.build("tae", (5, 16, 16, 3))
    with pytest.raises(ValueError, match="divisible"):
        models.build("cnn", (20, 20, 2), depth=3)


def test_losses_against_hand_computation():
    y = np.array([[[1, 2], [0, 255]]])
    p = np.full((1, 2, 2, 14), 0.01, "float32")
    p[0, 0, 0, 1], p[0, 0, 1, 2], p[0, 1, 0, 0] = 0.7, 0.4, 0.9
    w = np.ones(14)
    w[2], w[0] = 3.0, 0.0
    wce = float(losses.SegmentationLoss(w, 0.0)(y, p))
    assert wce == pytest.approx((-np.log(0.7) - 3 * np.log(0.4)) / 2, rel=1e-5)  # class 0 masked, 255 ignored
    focal = float(losses.SegmentationLoss(w, 2.0)(y, p))
    assert focal == pytest.approx((-(0.3**2) * np.log(0.7) - 3 * 0.6**2 * np.log(0.4)) / 2, rel=1e-5)
    with_0 = w.copy()
    with_0[0] = 1.5
    all_in = float(losses.SegmentationLoss(with_0, 0.0)(y, p))
    assert all_in == pytest.approx((-np.log(0.7) - 3 * np.log(0.4) - 1.5 * np.log(0.9)) / 3, rel=1e-5)
    plain = float(losses.make("cross_entropy", w)(y, p))
    assert plain == pytest.approx((-np.log(0.7) - np.log(0.4)) / 2, rel=1e-5)


def test_class_weight_kinds():
    counts = np.array([50, 100, 10, 0, 40] + [0] * 9)
    inv = losses.class_weights("inverse", train_counts=counts)
    assert inv[0] == 0 and inv[3] == 0 and inv[2] > inv[4] > inv[1]
    med = losses.class_weights("median", train_counts=counts)
    assert med[4] == pytest.approx(1.0)
    area = losses.class_weights("area", {1: 10.0, 0: 1.5}, include_nodata=True)
    assert area[1] == 10.0 and area[0] == 1.5 and area[5] == 1.0


def test_metrics_against_a_hand_confusion_matrix():
    y = np.array([1, 1, 1, 2, 2, 0, 3])
    p = np.array([1, 1, 2, 2, 1, 1, 3])
    cm = metrics.confusion(y, p)
    s = metrics.scores(cm)
    assert s["oa"] == pytest.approx(4 / 6)  # class-0 pixel left out
    f1_1, f1_2, f1_3 = 2 * (2 / 3 * 2 / 3) / (4 / 3), 0.5, 1.0  # P1 = 2/3 (class-0 prediction not counted), R1 = 2/3
    assert s["f1"][1] == pytest.approx(f1_1) and s["f1"][2] == pytest.approx(f1_2) and s["f1"][3] == pytest.approx(f1_3)
    assert s["macro_f1"] == pytest.approx((f1_1 + f1_2 + f1_3) / 3)
    assert s["iou"][2] == pytest.approx(1 / 3)


def _pattern(n=24, t=None, seed=0):
    """Vertical bands of classes 1, 7, 8 whose channel values differ by class (plus noise)."""
    rng = np.random.default_rng(seed)
    y = np.zeros((n, 16, 16), np.int32)
    for i in range(n):
        off = rng.integers(0, 16)
        y[i] = np.array([1, 7, 8])[((np.arange(16) + off) // 6) % 3][None, :]
    level = {1: -1.0, 7: 0.0, 8: 1.0}
    base = np.vectorize(level.get)(y).astype("float32")
    x = np.stack([base, -base], -1) + rng.normal(0, 0.3, (n, 16, 16, 2)).astype("float32")
    if t:
        x = np.stack([x + rng.normal(0, 0.3, x.shape).astype("float32") for _ in range(t)], 1)
    return x, y


def _year(x: np.ndarray, present: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """A whole-year ``tae`` input: ``x`` (N, T, H, W, C) with the date planes of T passes spread over a year (day and
    night alternating) appended; dates not ``present`` are zero, as padding is."""
    from rocksoil_nb.learn.inputs import date_planes

    n, t = x.shape[:2]
    present = np.ones((n, t), bool) if present is None else present
    doy = np.broadcast_to(np.linspace(5, 360, t), (n, t))
    planes = date_planes(doy, np.broadcast_to(np.arange(t) % 2 == 0, (n, t)), present, x.shape[2])
    return np.concatenate([np.where(present[:, :, None, None, None], x, 0.0), planes], axis=-1).astype("float32")


def test_tae_masked_dates_change_nothing_and_any_year_length_works():
    rng = np.random.default_rng(1)
    for t in (4, 11, 30):
        m = models.build("tae", (t, 16, 16, 2 + models.DATE_CHANNELS), base_filters=4)
        x = rng.normal(size=(2, t, 16, 16, 2)).astype("float32")
        present = np.ones((2, t), bool)
        present[:, t // 2 :] = False  # the second half of the year is missing (cloud, or padding)
        a = np.asarray(m(_year(x, present), training=False))
        x2 = x.copy()
        x2[:, t // 2 :] = rng.normal(size=x2[:, t // 2 :].shape)  # whatever the missing dates held
        b = np.asarray(m(_year(x2, present), training=False))
        assert a.shape == (2, 16, 16, 14) and np.array_equal(a, b)
        c = np.asarray(m(_year(x2), training=False))  # the same dates, present: the answer changes
        assert not np.allclose(a, c)


@pytest.mark.parametrize("name,t", [("cnn", None), ("convlstm", 3), pytest.param("tae", 12, marks=pytest.mark.extra),
                                    ("pixel_rf", None)])  # tae's 26 s: in make test-extra (CI runs it)
def test_models_overfit_a_simple_pattern(name, t):
    x, y = _pattern(t=t)
    if name == "tae":  # a whole year of 12 passes, three of them missing
        present = np.ones(x.shape[:2], bool)
        present[:, [2, 5, 9]] = False
        x = _year(x, present)
    m, _ = api.fit_arrays(x, y, model=name, epochs=40, batch_size=8, learning_rate=5e-3, base_filters=8, gamma=0.0)
    s = api.score(m, x, y)
    assert s["oa"] > 0.9, s["oa"]


def test_a_compiled_network_creates_no_variable_while_training():
    """compile_for_training builds Adam's moments up front: the first training step creates no variable, so TensorFlow
    traces it once (a variable created inside a traced step makes it trace the step again)."""
    x, y = _pattern()
    net = models.compile_for_training(models.build("cnn", x.shape[1:], base_filters=4), 1e-3, losses.make("cross_entropy", np.ones(14)))
    assert net.optimizer.built
    before = {id(v) for v in net.optimizer.variables}
    assert len(before) >= 2 * len(net.trainable_variables)  # a first and a second moment per weight
    net.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert {id(v) for v in net.optimizer.variables} == before


def test_same_seed_same_numbers():
    x, y = _pattern()
    a, _ = api.fit_arrays(x, y, epochs=3, base_filters=4, seed=3)
    b, _ = api.fit_arrays(x, y, epochs=3, base_filters=4, seed=3)
    assert np.array_equal(api.predict(a, x)[1], api.predict(b, x)[1])


@pytest.mark.extra
def test_every_model_runs_under_jax():
    code = (
        "import numpy as np, keras\n"
        "from rocksoil_nb.learn import losses, models\n"
        "assert keras.backend.backend() == 'jax'\n"
        "for name, shape in [('cnn', (16, 16, 2)), ('convlstm', (3, 16, 16, 2)), ('tae', (3, 16, 16, 6))]:\n"
        "    m = models.build(name, shape, base_filters=4)\n"
        "    m.compile(optimizer='adam', loss=losses.make('weighted_focal', losses.class_weights('equal')))\n"
        "    x = np.random.rand(4, *shape).astype('float32'); y = np.random.randint(1, 14, (4, 16, 16))\n"
        "    loss = m.train_on_batch(x, y)\n"
        "    p = m.predict_on_batch(x)\n"
        "    assert p.shape == (4, 16, 16, 14) and np.isfinite(loss)\n"
        "print('jax ok')\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "jax ok" in r.stdout


def test_training_resumes_after_an_interruption(tmp_path, trained_demo, monkeypatch):
    from rocksoil_nb.learn import train

    cfg = trained_demo
    real = train._callbacks

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt("laptop went to sleep")

    monkeypatch.setattr(train, "_callbacks", lambda *a, **k: real(*a, **k) + [Stop()])
    monkeypatch.setattr(train, "CHECKPOINT_EVERY_S", 0.0)  # a checkpoint after every epoch (default: at most once a minute)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train.train(cfg, "thermal_only", "cnn", "spatial", epochs=4, out_dir=out, verbose=0, max_samples=64)
    state = json.loads((out / "state.json").read_text())
    assert state["epoch"] == 1 and len(state["history"]) == 2
    monkeypatch.setattr(train, "_callbacks", real)
    res = train.train(cfg, "thermal_only", "cnn", "spatial", epochs=4, out_dir=out, verbose=0, max_samples=64)
    hist = json.loads((out / "state.json").read_text())["history"]
    assert [h["epoch"] for h in hist] == [0, 1, 2, 3]  # continued from epoch 3, nothing repeated
    assert res.epochs_run == 4 and 0 <= res.score("oa") <= 1
    man = json.loads((out / "manifest.json").read_text())
    assert man["seed"] == 0 and man["versions"]["keras"] and "device" in man
    again = train.train(cfg, "thermal_only", "cnn", "spatial", epochs=4, out_dir=out, verbose=0, max_samples=64)
    assert again == res  # a finished run is reused


def test_flops_of_a_hand_sized_network():
    from rocksoil_nb.learn import flops

    inp = keras.Input((8, 8, 3))
    out = keras.layers.Conv2D(4, 3, padding="same")(inp)
    out = keras.layers.Conv2DTranspose(2, 2, strides=2)(out)
    m = keras.Model(inp, out)
    assert flops.model_flops(m) == 2 * 8 * 8 * 9 * 3 * 4 + 2 * 8 * 8 * 4 * 4 * 2
    seq = keras.Input((3, 8, 8, 2))
    cl = keras.Model(seq, keras.layers.ConvLSTM2D(4, 3, padding="same")(seq))
    assert flops.model_flops(cl) == 2 * 3 * 8 * 8 * 9 * (2 + 4) * 4 * 4
    assert flops.matmul_peak_gflops(256, 2) > 0.1
