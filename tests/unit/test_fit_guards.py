"""The fit step's guards: a diverged run stops at the first NaN, a lease-bound run stops on time."""

from __future__ import annotations

import time
from types import SimpleNamespace

from transformers import TrainerControl

from nanoscale.training.fit import divergence_guard, time_limit


def test_the_first_nan_loss_or_gradient_norm_stops_training_and_is_remembered():
    guard = divergence_guard()
    control = TrainerControl()
    guard.on_log(None, SimpleNamespace(global_step=10), control, logs={"loss": 1.25, "grad_norm": 0.55})
    assert not control.should_training_stop and guard.step is None
    guard.on_log(
        None, SimpleNamespace(global_step=15), control, logs={"loss": 2.1, "grad_norm": float("nan")}
    )
    assert control.should_training_stop and guard.step == 15
    guard.on_log(None, SimpleNamespace(global_step=20), control, logs={"loss": float("inf")})
    assert guard.step == 15  # the first one is what the error names


def test_an_eval_log_without_loss_keys_is_not_divergence():
    guard = divergence_guard()
    control = TrainerControl()
    guard.on_log(None, SimpleNamespace(global_step=40), control, logs={"eval_loss": 1.5, "epoch": 1.0})
    assert not control.should_training_stop and guard.step is None


def test_the_time_limit_stops_only_after_its_deadline():
    control = TrainerControl()
    state = SimpleNamespace(global_step=1)
    generous = time_limit(10)
    generous.on_step_end(None, state, control)
    assert not control.should_training_stop
    spent = time_limit(1e-6)
    time.sleep(0.01)
    spent.on_step_end(None, state, control)
    assert control.should_training_stop
