"""`pipetool verify`: rerun the stages of HEAD in a temporary worktree; do their outs match the lock?"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = 'Example: pipetool verify -j 2 --runs 2 --md >> "$GITHUB_STEP_SUMMARY"   (in CI)'
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="stages (with their upstream) to verify")
    parser.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="run N stages at once")
    parser.add_argument(
        "--metrics-tolerance",
        type=float,
        metavar="X",
        help="metrics files declared exact count as equivalent when their numbers differ by at most X",
    )
    parser.add_argument(
        "--runs",
        type=int,
        choices=(1, 2),
        default=1,
        help="2: run each stage twice from the same inputs; a stage whose runs differ is nondeterministic",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    output.add_argument("--md", action="store_true", help="print a Markdown table (a PR comment, a job summary)")


def run(args: argparse.Namespace) -> int:
    import io
    import json

    from ..engine.verify import VerifyOptions, verify
    from ..pipeline.project import find
    from ..terminal.report import ConsoleReporter
    from .reporters import console_reporter, note

    options = VerifyOptions(tuple(args.targets), max(1, args.jobs), args.metrics_tolerance, args.runs)
    quiet = args.json or args.md
    # The stages' lines as repro shows them (the live view on a terminal); --json and --md keep stdout for the verdicts.
    reporter = ConsoleReporter(out=io.StringIO()) if quiet else console_reporter(parallel=args.jobs > 1)
    note("Verifying HEAD: its stages run again in a temporary worktree…")
    verdicts = verify(find().root, options, reporter)
    if args.json:
        print(json.dumps([_as_dict(v) for v in verdicts], indent=2, default=str))
    elif args.md:
        print(_markdown(verdicts))
    else:
        _print(verdicts)
    return 0 if all(v.reproduced for v in verdicts) else 1


def _as_dict(verdict) -> dict:
    data = {"stage": verdict.name, "status": verdict.status, "differences": [d.as_dict() for d in verdict.differences]}
    if verdict.unstable:
        data["unstable"] = [d.as_dict() for d in verdict.unstable]
    if verdict.status in ("differs", "nondeterministic"):
        data["environment"] = verdict.environment
    return data


def _environment(verdict) -> str | None:
    """What differs between the environment that produced the lock and this one, in one line."""
    if verdict.status not in ("differs", "nondeterministic"):
        return None
    if verdict.environment is None:
        return "no environment recorded with the lock (pipeline.env.json) to compare with"
    if not verdict.environment:
        return "the same environment as the one that produced the lock"
    return "; ".join(verdict.environment)


# How the plain text names a verdict: a bit-for-bit stage is simply "reproducible".
def _print(verdicts) -> None:
    print("\nVerification against pipeline.lock at HEAD:")
    for verdict in verdicts:
        print(f"  {verdict.name}: {verdict.status}")
        for difference in verdict.unstable:
            print(f"    out '{difference.path}': its two runs here differ: {_detail(difference)}")
        for difference in verdict.differences:
            produced = difference.produced or "not produced"
            print(f"    out '{difference.path}': locked {difference.locked}, rerun gave {produced}")
            if difference.comparison is not None:
                print(f"      {difference.comparison.verdict} ({difference.rule}): {_detail(difference)}")
            for key, (old, new) in sorted(difference.metrics.items()):
                change = f" ({new - old:+g})" if _numbers(old, new) else ""
                print(f"      {key}: {old} -> {new}{change}")
        environment = _environment(verdict)
        if environment:
            print(f"    environment: {environment}")
    bad = [v.name for v in verdicts if not v.reproduced]
    if bad:
        print(f"Not reproducible: {', '.join(bad)}")
        return
    counts = {status: sum(v.status == status for v in verdicts) for status in ("identical", "equivalent")}
    print(f"{len(verdicts)} of {len(verdicts)} stage(s) reproduce.")
    if counts["equivalent"]:
        print(f"({counts['identical']} identical, {counts['equivalent']} equivalent within their declared tolerance)")


def _detail(difference) -> str:
    """The largest difference (equivalent) or the first one (differs), in a few words."""
    comparison = difference.comparison
    if comparison is None:
        return ""
    if comparison.verdict == "skipped":
        return "not compared (verify: skip)"
    parts = []
    if comparison.where:
        change = (
            f"{comparison.old!r} -> {comparison.new!r}"
            if comparison.old is not None or comparison.new is not None
            else ""
        )
        parts.append(f"{comparison.where}: {change}".rstrip(": "))
    if comparison.largest is not None:
        parts.append(f"{'largest ' if comparison.verdict == 'equivalent' else ''}difference {comparison.largest:.3g}")
    if comparison.note:
        parts.append(comparison.note)
    return "; ".join(parts) or "bytes differ"


def _markdown(verdicts) -> str:
    """One row per stage: a table for a pull request comment or a GitHub Actions job summary."""
    icons = {"identical": "✅", "equivalent": "✅", "differs": "❌", "nondeterministic": "⚠️", "failed": "❌"}
    bad = [v.name for v in verdicts if not v.reproduced]
    lines = [
        "### pipetool verify",
        "",
        f"**{len(verdicts) - len(bad)} of {len(verdicts)} stage(s) reproduce.**"
        + (f" Not reproducible: {', '.join(f'`{name}`' for name in bad)}" if bad else ""),
        "",
        "| stage | verdict | out | rule | details |",
        "|---|---|---|---|---|",
    ]
    for verdict in verdicts:
        label = f"{icons.get(verdict.status, '❔')} {verdict.status}"
        rows = [(d, "runs differ: ") for d in verdict.unstable] + [(d, "") for d in verdict.differences]
        environment = _environment(verdict)
        if environment:
            rows.append((None, "environment: " + environment))
        if not rows:
            lines.append(f"| `{_cell(verdict.name)}` | {label} | | | |")
        for difference, prefix in rows:
            if difference is None:
                lines.append(f"| `{_cell(verdict.name)}` | {label} | | | {_cell(prefix)} |")
                continue
            lines.append(
                f"| `{_cell(verdict.name)}` | {label} | `{_cell(difference.path)}` | {_cell(difference.rule)} "
                f"| {_cell(prefix + _verdict(difference) + _detail(difference))} |"
            )
    return "\n".join(lines)


def _verdict(difference) -> str:
    comparison = difference.comparison
    return f"{comparison.verdict}: " if comparison is not None and comparison.verdict != "skipped" else ""


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _numbers(*values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
