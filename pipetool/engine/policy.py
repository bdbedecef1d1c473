"""What repro does with one stage, decided in one place for the dry run and the real run.

Pure: the stage, why it is stale (staleness.decide), the flags and what happened upstream in; a
Decision out. Carrying it out (running the cmd, restoring from the run-cache, telling the user) is
repro's part. A dep that is missing when the stage starts, a cmd that fails or outs that cannot be
prepared are failures of the run itself, found only by running: they are not decided here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from ..pipeline.pipelines import is_pointer
from ..pipeline.stage import Stage
from ..planning.staleness import Reason
from .outs import uses_run_cache

STOPPED = "stopped after a failure (use -k to run independent stages)"


class Action(Enum):
    SKIP = "skip"  # an upstream stage failed, or the run stopped after a failure
    FROZEN = "frozen"  # never run; mentioned when stale
    UP_TO_DATE = "up to date"
    RUN = "run"  # run it (or put back the outs of an identical earlier run, when run_cache allows)
    RECORD = "record"  # a data stage whose data changed: no cmd; its new version is recorded


@dataclass(frozen=True)
class Decision:
    action: Action
    reasons: tuple[Reason, ...] = ()  # RUN: why it runs; FROZEN: why it is stale (empty when it is not)
    because: str = ""  # SKIP: why it is skipped
    run_cache: bool = False  # RUN: the outs of an identical earlier run may be restored instead
    restore_locked: bool = False  # RUN: only outs changed, so the locked outs may be put back too


def decide_stage(
    stage: Stage,
    reasons: Sequence[Reason],
    *,
    force: bool = False,
    run_cache: bool = True,
    upstream_pending: Sequence[str] = (),
    upstream_failed: Sequence[str] = (),
    stopped: bool = False,
) -> Decision:
    """The decision for one stage.

    reasons: staleness.decide's (ignored for a skipped stage). force: -f. run_cache: the run-cache
    may be used (not --no-run-cache). upstream_pending: upstream stages that will run first and
    whose outs cannot be known yet (a dry run; a real run observes them once they are done, so an
    upstream that rewrote identical bytes leaves its downstream alone). upstream_failed: upstream
    stages that failed. stopped: a stage failed elsewhere and the run does not keep going (no -k).
    """
    if upstream_failed:
        return Decision(Action.SKIP, because=f"upstream stage '{upstream_failed[0]}' failed")
    if stopped:
        return Decision(Action.SKIP, because=STOPPED)
    if stage.frozen:
        return Decision(Action.FROZEN, tuple(reasons))
    reasons = (Reason("forced"), *reasons) if force else tuple(reasons)
    if not reasons and upstream_pending:
        reasons = (Reason("upstream", upstream_pending[0]),)
    if not reasons:
        return Decision(Action.UP_TO_DATE)
    if is_pointer(stage.name):  # as DVC 3's repro: data sources are verified and committed
        return Decision(Action.RECORD, reasons)
    only_outs = all(r.kind == "outs" and r.change in ("deleted", "modified") for r in reasons)
    return Decision(
        Action.RUN, reasons, run_cache=run_cache and not force and uses_run_cache(stage), restore_locked=only_outs
    )
