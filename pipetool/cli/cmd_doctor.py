"""`pipetool doctor`: what a bug report needs: versions, platform, cache, git, optional extras.

Never fails on a missing extra or outside a project: it says so and goes on.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool doctor   (paste its output into a bug report)"


def run(args: argparse.Namespace) -> int:
    import platform
    import sys

    from .. import __version__

    print(f"pipetool {__version__}")
    print(f"Python {platform.python_version()} ({platform.python_implementation()}) at {sys.executable}")
    print(f"Platform: {platform.platform()} ({platform.machine()})")
    print(f"git: {_git()}")
    _project()
    print("Dependencies:")
    extras = _requirements()
    for name in extras.pop("", []):
        print(f"  {name:<14} {_version(name) or 'MISSING (reinstall pipetool)'}")
    print("Optional extras:")
    for extra, names in _EXTRAS.items():
        extras.setdefault(extra, list(names))
    for extra, names in extras.items():
        have = {name: _version(name) for name in names}
        state = "installed" if all(have.values()) else f"not installed (pip install 'pipetool[{extra}]')"
        listed = ", ".join(f"{n} {v}" if v else f"{n} -" for n, v in have.items())
        print(f"  {extra:<14} {state}: {listed}")
    print("Libraries for other executors and remote storage, used when installed:")
    print("  " + ", ".join(f"{name} {_version(name) or '-'}" for name in _OPTIONAL_LIBRARIES))
    return 0


# Extras a command needs, listed even when the installed metadata predates them (an editable
# install made before the extra was added): `pipetool ui` needs these three.
_EXTRAS = {"ui": ("starlette", "uvicorn", "plotly")}
_OPTIONAL_LIBRARIES = ("dask", "distributed", "fsspec", "s3fs", "gcsfs", "adlfs", "sshfs")


def _git() -> str:
    import shutil
    import subprocess

    path = shutil.which("git")
    if path is None:
        return "not found (pipetool needs git for metrics diff, exp, verify and install)"
    try:
        found = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
        inside = subprocess.run([path, "rev-parse", "--show-toplevel"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{path} does not run: {exc}"
    repo = f"; repository {inside.stdout.strip()}" if inside.returncode == 0 else "; not in a git repository"
    return f"{found.stdout.strip()} ({path}){repo}"


def _project() -> None:
    import os

    from ..errors import PipetoolError
    from ..pipeline import config
    from ..pipeline.project import find
    from ..storage.cache import CACHE_DIR, reflink_supported

    try:
        project = find()
    except PipetoolError:
        print("Project: none here (no pipeline.yaml in this folder or above)")
        return
    print(f"Project: {project.root}")
    state = project.state_dir
    try:
        link = config.read(state)["cache.type"]
    except PipetoolError as error:
        link = f"unreadable config ({error})"
    cache = os.path.join(state, CACHE_DIR)
    print(f"Cache: {cache}{'' if os.path.isdir(cache) else ' (not created yet)'}")
    probe = state if os.path.isdir(state) else project.root
    clones = (
        "yes" if reflink_supported(probe) else "no (copies are full copies unless cache.type is hardlink or symlink)"
    )
    print(f"Link type: {link} (cache.type); file system can reflink: {clones}")


def _requirements() -> dict[str, list[str]]:
    """pipetool's requirements by extra ('' for the required ones), from its installed metadata."""
    import re
    from importlib import metadata

    grouped: dict[str, list[str]] = {"": []}
    try:
        requires = metadata.requires("pipetool") or []
    except metadata.PackageNotFoundError:
        return grouped
    for text in requires:
        name = re.match(r"[A-Za-z0-9._-]+", text).group(0)
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", text)
        group = extra.group(1) if extra else ""
        if name.lower() != "pipetool":  # test pulls in pipetool[example,plots]: listed under those
            grouped.setdefault(group, []).append(name)
    return grouped


def _version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
