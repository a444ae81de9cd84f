"""A drive job's progress events, from the engines' byte counts, on a clock we drive."""

from __future__ import annotations

import itertools
import threading

from hypothesis import given
from hypothesis import strategies as st

from expunge.workflows.drive_wipe import CONFIRM_TRIES, Confirmation, Event, Progress
from expunge.workflows.drive_wipe.tracker import Course, JobPlan, JobTracker
from tests.support.drives import make_drive


class Collected:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.lock = threading.Lock()

    def emit(self, event: Event) -> None:
        with self.lock:
            self.events.append(event)

    def progress(self) -> list[Progress]:
        return [e for e in self.events if isinstance(e, Progress)]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def tracker(plan: JobPlan, course: Course) -> tuple[JobTracker, Collected, Clock]:
    sink, clock = Collected(), Clock()
    return JobTracker("/dev/sdx", plan, sink, lambda: course, clock=clock), sink, clock


def run_pass(job: JobTracker, clock: Clock, total: int, step: int, dt: float) -> None:
    job.writing.start("/dev/sdx", total, "pass ?")
    for _ in range(total // step):
        clock.now += dt
        job.writing.advance("/dev/sdx", step)
    job.writing.finish("/dev/sdx")


def test_progress_names_the_pass_its_pattern_and_the_time_left_for_the_whole_job() -> None:
    plan = JobPlan(passes=2, size=1000, verify_bytes=100)
    job, sink, clock = tracker(plan, Course(1, ("00", "ff")))
    run_pass(job, clock, 1000, 25, 0.25)  # 100 units/s, 10 s
    first = sink.progress()
    assert first and all(p.pass_index == 1 and p.pattern == "00" for p in first)
    times = [p.at for p in first]
    assert len(first) <= 10 and times == sorted(times)
    # One second in: 900 left of this pass, 1000 of the next, 100 read back, at 100/s.
    assert first[0].done == 100 and first[0].eta is not None
    assert abs(first[0].eta - 20.0) < 0.01
    run_pass(job, clock, 1000, 25, 0.25)
    second = sink.progress()[len(first) :]
    assert {(p.pass_index, p.passes, p.pattern) for p in second} == {(2, 2, "ff")}
    job.verifying.start("/dev/sdx verify", 100, "verify (nist) /dev/sdx")
    clock.now += 2.0
    job.verifying.advance("/dev/sdx verify", 50)
    (check,) = sink.progress()[len(first) + len(second) :]
    assert check.phase == "verifying" and check.done == 50 and check.total == 100
    assert check.eta is not None and abs(check.eta - 2.0) < 0.01  # 50 left at 25/s


def test_a_resumed_job_counts_from_the_pass_the_journal_resumes() -> None:
    job, sink, clock = tracker(JobPlan(passes=3, size=100), Course(2, ("00", "ff", "00")))
    run_pass(job, clock, 60, 10, 0.5)  # the rest of pass 2
    run_pass(job, clock, 100, 10, 0.5)
    assert next(p.pass_index for p in sink.progress()) == 2
    assert {p.pass_index for p in sink.progress()} == {2, 3}


@given(st.lists(st.floats(0.05, 0.6), min_size=5, max_size=200))
def test_at_most_one_event_a_second_and_the_eta_never_rises_within_a_pass(
    gaps: list[float],
) -> None:
    job, sink, clock = tracker(JobPlan(passes=1, size=len(gaps) * 10), Course(1, ("random",)))
    job.writing.start("/dev/sdx", len(gaps) * 10, "pass 1")
    for gap in gaps:  # the speed varies by a factor of up to 12 between buffers
        clock.now += gap
        job.writing.advance("/dev/sdx", 10)
    shown = sink.progress()
    assert len(shown) <= sum(gaps)  # none in the first second, then at most one a second
    etas = [p.eta for p in shown if p.eta is not None]
    # The average rate over the pass moves slowly; the countdown holds it down.
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(etas))


def test_a_token_gets_three_tries_then_the_drive_alone_is_refused() -> None:
    waiting = Confirmation(make_drive(serial="AC0001"))
    assert waiting.tries_left == CONFIRM_TRIES == 3
    once = waiting.answer("AC0002")
    assert not once.confirmed and once.tries_left == 2 and not once.refused
    assert once.answer(" AC0001 ").confirmed
    used = once.answer("x").answer("")
    assert used.refused and used.answer("AC0001") == used
    refusal = used.refusal()
    assert refusal.status == "refused" and refusal.wipe is None and refusal.certificate is None
    assert "not confirmed" in refusal.to_dict()["error"]
