"""Periodic jobs: they run on schedule, survive a failing run, run again at once when there
is more to do, and stop when asked."""

from __future__ import annotations

import threading

from user_service.server.background import PeriodicJob


def test_a_job_survives_failures_and_stops_when_asked():
    runs: list[int] = []
    three_runs = threading.Event()

    def work() -> bool:
        runs.append(1)
        if len(runs) == 3:
            three_runs.set()
        if len(runs) == 1:
            raise RuntimeError("the first run fails")
        return False

    job = PeriodicJob("test-job", 0.01, work)
    job.start()
    assert three_runs.wait(5)
    job.stop()
    job.join(5)
    count = len(runs)
    assert not job._thread.is_alive()
    assert len(runs) == count


def test_a_job_with_more_to_do_runs_again_at_once():
    left = [5]
    done = threading.Event()

    def work() -> bool:
        left[0] -= 1
        if left[0] == 0:
            done.set()
        return left[0] > 0

    job = PeriodicJob("batches", 3600, work)  # only "more to do" can bring the next run
    job.start()
    assert done.wait(5)
    job.stop()
