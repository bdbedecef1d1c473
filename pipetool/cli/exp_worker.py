"""`python -m pipetool.cli.exp_worker PAYLOAD`: one experiment of a grid, in its own process.

The grid starts it in the experiment's worktree with a payload file (payload.py) holding the
experiment and its repro options; it runs `run.run_experiment`, the function `exp run` calls, and
its output (the grid shows and logs it) is the repro's. It prints no "saved" line: the grid says
that once, when it finds the experiment's commit (the worktree is not the workspace). A failure is one line on stderr
and an exit code, as from the `pipetool` command: 1 for a failed experiment, 2 for a payload it
cannot read, 130 when stopped by Ctrl-C or SIGTERM (which the grid sends to stop it).
"""

from __future__ import annotations

import signal
import sys

from ..errors import PipetoolError

USAGE = "usage: python -m pipetool.cli.exp_worker PAYLOAD_FILE"


def _terminate(signum, frame):  # SIGTERM stops the experiment as Ctrl-C does: stages stopped, lock sound
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(f"error: expected one payload file ({USAGE})", file=sys.stderr)
        return 2
    try:
        _run(argv[0])
    except PipetoolError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 141
    except OSError as error:  # a full or read-only disk: said as the pipetool command says it
        from . import environment_error

        message = environment_error(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 1
    return 0


def _run(path: str):
    from ..experiments import payload
    from ..experiments.run import run_experiment
    from ..terminal.report import ConsoleReporter

    job = payload.read(path)
    return run_experiment(job.root, job.overrides, job.name, job.options, ConsoleReporter())


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(main(sys.argv[1:]))
