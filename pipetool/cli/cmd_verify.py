"""`pipetool verify`: rerun the stages of HEAD in a temporary worktree; do their outs match the lock?"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool verify -j 2 --metrics-tolerance 1e-6   (in CI, after status --exit-code)"
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="stages (with their upstream) to verify")
    parser.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="run N stages at once")
    parser.add_argument(
        "--metrics-tolerance", type=float, metavar="X", help="metrics that differ by at most X count as reproducible"
    )
    parser.add_argument("--json", action="store_true", help="print the verdicts as JSON")


def run(args: argparse.Namespace) -> int:
    import io
    import json

    from ..engine.verify import VerifyOptions, verify
    from ..pipeline.project import find
    from ..terminal.report import ConsoleReporter
    from .reporters import console_reporter, note

    options = VerifyOptions(tuple(args.targets), max(1, args.jobs), args.metrics_tolerance)
    # The stages' lines as repro shows them (the live view on a terminal); --json keeps stdout for the verdicts.
    reporter = ConsoleReporter(out=io.StringIO()) if args.json else console_reporter(parallel=args.jobs > 1)
    note("Verifying HEAD: its stages run again in a temporary worktree…")
    verdicts = verify(find().root, options, reporter)
    if args.json:
        print(
            json.dumps(
                [
                    {"stage": v.name, "status": v.status, "differences": [d.__dict__ for d in v.differences]}
                    for v in verdicts
                ],
                indent=2,
                default=str,
            )
        )
    else:
        _print(verdicts)
    return 0 if all(v.status.startswith("reproducible") for v in verdicts) else 1


def _print(verdicts) -> None:
    print("\nVerification against pipeline.lock at HEAD:")
    for verdict in verdicts:
        print(f"  {verdict.name}: {verdict.status}")
        for difference in verdict.differences:
            produced = difference.produced or "not produced"
            print(f"    out '{difference.path}': locked {difference.locked}, rerun gave {produced}")
            for key, (old, new) in sorted(difference.metrics.items()):
                change = f" ({new - old:+g})" if _numbers(old, new) else ""
                print(f"      {key}: {old} -> {new}{change}")
    bad = [v.name for v in verdicts if not v.status.startswith("reproducible")]
    print(
        f"{len(verdicts) - len(bad)} of {len(verdicts)} stage(s) reproduce."
        if not bad
        else f"Not reproducible: {', '.join(bad)}"
    )


def _numbers(*values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
