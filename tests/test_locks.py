"""One writer per run folder, per plan and per tuning target: a second process is told who holds the lock, a dead
holder's lock is taken over, and processes sharing a tuning study draw different trials and stop at the target."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import types

import pytest

from rocksoil_nb.core import locks


def _holder(folder, seconds: float = 60.0) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import sys, time
        from rocksoil_nb.core import locks
        with locks.hold({str(folder)!r}, "a test"):
            print("held", flush=True)
            time.sleep({seconds})
    """)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_a_second_process_is_told_who_holds_the_lock_and_a_dead_holders_lock_is_taken_over(tmp_path):
    p = _holder(tmp_path)
    try:
        with pytest.raises(locks.LockHeld, match=rf"the run x is being written by process {p.pid} on .*started"):
            with locks.hold(tmp_path, "the run x"):
                pass
        t0 = time.monotonic()
        with pytest.raises(locks.LockHeld):
            with locks.hold(tmp_path, "the run x", wait_s=1.0, poll_s=0.2):
                pass
        assert time.monotonic() - t0 >= 1.0  # it waited before giving up
    finally:
        os.kill(p.pid, signal.SIGKILL)  # as kill -9: the lock file stays, the lock does not
        p.wait()
    assert (tmp_path / locks.LOCK_FILE).exists()
    with locks.hold(tmp_path, "the run x"):
        with locks.hold(tmp_path, "the run x"):  # re-entrant in one process (a run inside a locked plan)
            pass


def test_experiments_refuse_a_second_writer_of_the_plan(trained_demo):
    from rocksoil_nb.learn import experiments

    p = _holder(trained_demo.layout.models_dir)
    try:
        with pytest.raises(locks.LockHeld, match=f"experiments of demo .quick. is being written by process {p.pid}"):
            experiments.run(trained_demo)
        with pytest.raises(locks.LockHeld, match="experiment plan"):
            experiments.estimate(trained_demo, progress=False)
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()


def test_tuning_processes_sharing_a_study_draw_different_trials_and_stop_at_the_target(trained_demo, tmp_path, monkeypatch):
    import optuna

    from rocksoil_nb.learn import tune

    monkeypatch.setattr(tune.train, "train", lambda *a, **k: types.SimpleNamespace(val_macro_f1_best=0.5))
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    name = "demo-thermal_only-cnn-spatial"
    alone = tune.run_study(trained_demo, n_trials=3, storage=f"sqlite:///{tmp_path / 'alone.db'}")
    first = [t.params for t in alone.trials]
    # another process has a trial running in the shared study when this one starts
    other = optuna.create_study(study_name=name, storage=storage, direction="maximize", load_if_exists=True)
    other.ask()
    shared = tune.run_study(trained_demo, n_trials=3, storage=storage)
    mine = [t.params for t in shared.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(shared.trials) == 3  # the target counts the other process's running trial: no overshoot
    assert mine and mine[0] != first[0]  # not a replay of the same seeded stream
    again = tune.run_study(trained_demo, n_trials=3, storage=storage)
    assert len(again.trials) == 3  # reached: nothing more is run
