"""An ``auto`` CPU run follows the load: the governor moves to the faster thread count and back, pays little for a
trial that loses, and only ``auto`` runs at a size worth probing get one."""

from __future__ import annotations

import torch

from training.autotune import PROBE_MIN_IMAGE_SIZE, thread_governor
from training.config import make_config
from training.distributed import DistInfo
from training.precision import fast_path
from training.thread_governor import ThreadGovernor

CPU = torch.device("cpu")


class SharedMachine:
    """Step times of a paper-size step on 2 cores: two threads win when the machine is idle, lose badly when busy."""

    def __init__(self) -> None:
        self.threads = 2
        self.busy = False
        self.calls: list[int] = []

    def set_threads(self, count: int) -> None:
        self.calls.append(count)
        self.threads = count

    def step_seconds(self) -> float:
        if self.busy:
            return {2: 3.5, 1: 0.8}[self.threads]
        return {2: 0.46, 1: 0.78}[self.threads]


def run(governor: ThreadGovernor, machine: SharedMachine, steps: int, start: int = 0) -> int:
    for step in range(start, start + steps):
        governor.observe(step, machine.step_seconds())
    return start + steps


def test_it_moves_to_one_thread_when_the_machine_gets_busy_and_back_when_it_is_idle_again():
    machine = SharedMachine()
    governor = ThreadGovernor(choices=(2, 1), current=2, period=20, set_threads=machine.set_threads)
    step = run(governor, machine, 200)
    assert governor.current == 2 and governor.moves == []  # trials of one thread lost while idle
    machine.busy = True
    step = run(governor, machine, 400, step)
    assert governor.current == 1 and machine.threads == 1
    move = governor.moves[0]
    assert (move["from"], move["to"]) == (2, 1) and move["step_seconds_after"] < move["step_seconds_before"]
    machine.busy = False
    run(governor, machine, 4000, step)
    assert governor.current == 2 and machine.threads == 2
    assert [(m["from"], m["to"]) for m in governor.moves] == [(2, 1), (1, 2)]


def test_a_losing_trial_puts_the_count_back_and_the_next_trial_waits_twice_as_long():
    machine = SharedMachine()
    governor = ThreadGovernor(choices=(2, 1), current=2, period=10, trial_steps=3, set_threads=machine.set_threads)
    run(governor, machine, 10)
    assert machine.calls == [1]  # the trial starts after `period` steps
    run(governor, machine, 4, 10)
    assert machine.calls == [1, 2] and governor.current == 2  # 3 + 1 warm-up steps at one thread, slower: back
    run(governor, machine, 19, 14)
    assert machine.calls == [1, 2]  # the next trial waits 20 steps, not 10
    run(governor, machine, 1, 33)
    assert machine.calls == [1, 2, 1]


def test_the_first_step_at_a_new_count_is_not_judged():
    calls: list[int] = []
    governor = ThreadGovernor(choices=(2, 1), current=2, period=4, trial_steps=2, set_threads=calls.append)
    for step in range(4):
        governor.observe(step, 1.0)
    governor.observe(4, 0.1)  # a fast first step at one thread (warm-up), then slow ones: no move
    governor.observe(5, 1.5)
    governor.observe(6, 1.5)
    assert governor.moves == [] and calls == [1, 2]


def test_only_auto_cpu_runs_at_a_probed_size_in_one_process_get_a_governor(tmp_path):
    def config(**overrides):
        settings = {"precision": "auto", "image_size": PROBE_MIN_IMAGE_SIZE, **overrides}
        return make_config("pix2pix", str(tmp_path), str(tmp_path / "out"), profile="quick", **settings)

    chosen = fast_path("fp32", CPU, "auto", threads=1)
    governor = thread_governor(config(), CPU, chosen, DistInfo(), default_threads=2)
    assert governor is not None and governor.choices == (2, 1) and governor.current == 1
    assert thread_governor(config(precision="fp32"), CPU, chosen, DistInfo(), 2) is None
    assert thread_governor(config(image_size=64), CPU, chosen, DistInfo(), 2) is None
    assert thread_governor(config(), CPU, chosen, DistInfo(rank=0, world=2), 2) is None
    assert thread_governor(config(), CPU, chosen, DistInfo(), default_threads=1) is None
    assert thread_governor(config(), torch.device("cuda"), chosen, DistInfo(), 2) is None
