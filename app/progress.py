"""Progress on the terminal for the CLI's long commands: a bar whose estimate of the time left is
honest, and a line for a step that cannot be counted.

click's own bar estimates from the average time per item since the bar was drawn: `chronicle
generate` drew it, then read GeoNames for 5 s before the first record, and so estimated
"1d 17:28:13" for a 32 s job. Here the estimate comes from the rate over the last minute, and is not
shown until enough work is done to tell (rich's bar does the same, but would be a new dependency for
one estimate).
"""

from __future__ import annotations

import collections
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

import click

Clock = Callable[[], float]


class Advance(Protocol):
    def __call__(self, units: int, item: str | None = None) -> None: ...


class Estimate:
    """The time left for `total` units of work, from the rate over the last `window` seconds; None
    until `min_seconds` have passed and `min_fraction` of the work is done (the first items are the
    slow ones: start-up, caches, the first batch of a pipeline)."""

    def __init__(
        self,
        total: int,
        *,
        window: float = 60.0,
        min_seconds: float = 3.0,
        min_fraction: float = 0.02,
        clock: Clock = time.monotonic,
    ) -> None:
        self.total = total
        self.window = window
        self.min_seconds = min_seconds
        self.min_fraction = min_fraction
        self.clock = clock
        self.started = clock()
        self.done = 0
        self.samples: collections.deque[tuple[float, int]] = collections.deque([(self.started, 0)])

    def update(self, done: int) -> None:
        """`done` units are done in all."""
        now = self.clock()
        self.done = done
        self.samples.append((now, done))
        # Keep one sample at or before the window's start, so the rate always spans the whole window.
        while len(self.samples) > 2 and self.samples[1][0] <= now - self.window:
            self.samples.popleft()

    def remaining(self) -> float | None:
        """Seconds left, or None while it cannot be told."""
        now, done = self.samples[-1]
        if self.done >= self.total:
            return 0.0
        if now - self.started < self.min_seconds or done < self.min_fraction * self.total:
            return None
        then, done_then = self.samples[0]
        if done == done_then or now == then:
            return None
        return (self.total - done) * (now - then) / (done - done_then)

    def describe(self) -> str:
        left = self.remaining()
        if left == 0:
            return ""
        return "estimating time left" if left is None else f"about {duration(left)} left"


def duration(seconds: float) -> str:
    """`1:05:09`, `5:09` or `0:09`."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def took(seconds: float) -> str:
    """How long a step took: `3.2 s` under a minute, else `5:09`."""
    return f"{seconds:.1f} s" if seconds < 60 else duration(seconds)


@contextmanager
def progress_bar(length: int, label: str, *, estimate: bool = True) -> Iterator[Advance]:
    """A bar on stderr over `length` units (drawn on a terminal only), then how long it took; yields
    `advance(units, item)`. With `estimate`, the bar shows the time left (Estimate), else the step
    count and the item just done (for steps of unequal cost, where a rate would mislead)."""
    left = Estimate(length)
    started = time.perf_counter()

    def shown(item: str | None) -> str | None:
        return item

    with click.progressbar(
        length=length, label=label, file=sys.stderr, show_eta=False, show_pos=not estimate, item_show_func=shown
    ) as bar:

        def advance(units: int, item: str | None = None) -> None:
            left.update(left.done + units)
            bar.update(units, left.describe() if estimate else item)

        yield advance
    click.echo(f"{label}: {took(time.perf_counter() - started)}", err=True)


@contextmanager
def phase(label: str) -> Iterator[None]:
    """A step whose work cannot be counted: `label…` on stderr, then how long it took."""
    click.echo(f"{label}…", nl=False, err=True)
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        click.echo(" stopped", err=True)
        raise
    click.echo(f" {took(time.perf_counter() - started)}", err=True)
