"""`pipetool completion bash|zsh`: a tab-completion script, stage names and targets included."""

from __future__ import annotations

import argparse

SHELLS = ("bash", "zsh")

# Arguments by metavar -> the shell function that completes them. The functions ask the hidden
# `pipetool __complete` command for the project's stage names and out paths.
DYNAMIC = {
    "STAGE": {"bash": "_pipetool_stages", "zsh": "_pipetool_stages"},
    "TARGET": {"bash": "_pipetool_targets", "zsh": "_pipetool_targets"},
}
PREAMBLE = {
    "bash": """\
_pipetool_stages() {
  compgen -W "$(pipetool __complete stages 2>/dev/null)" -- "$1"
}
_pipetool_targets() {
  compgen -W "$(pipetool __complete targets 2>/dev/null)" -- "$1"
}
""",
    "zsh": """\
_pipetool_stages() {
  local -a words
  words=(${(f)"$(pipetool __complete stages 2>/dev/null)"})
  compadd -a words
}
_pipetool_targets() {
  local -a words
  words=(${(f)"$(pipetool __complete targets 2>/dev/null)"})
  compadd -a words
}
""",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Example: pipetool completion bash > ~/.local/share/bash-completion/completions/pipetool\n"
        "         pipetool completion zsh > ~/.zfunc/_pipetool   (with fpath+=~/.zfunc before "
        "compinit in ~/.zshrc)"
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete in")


def run(args: argparse.Namespace) -> int:
    import shtab

    from . import build_parser

    parser = build_parser()
    _mark_dynamic(parser)
    print(shtab.complete(parser, shell=args.shell, preamble=PREAMBLE[args.shell]))
    return 0


def _mark_dynamic(parser: argparse.ArgumentParser) -> None:
    """Give every STAGE and TARGET argument, in every (sub)command, its completion function."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _mark_dynamic(sub)
        elif action.metavar in DYNAMIC:
            action.complete = DYNAMIC[action.metavar]  # read by shtab
