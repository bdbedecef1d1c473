"""Where experiments live in git: `refs/exps/<baseline sha>/<name>`, a commit whose parent is the
baseline. Names, listing (here or on a remote), finding one by name, creating and removing refs.

Plain git refs, so `git push origin 'refs/exps/*:refs/exps/*'` shares them.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from ..errors import ExperimentError, did_you_mean
from ..revisions.git import GitRepo

PREFIX = "refs/exps/"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Experiment:
    baseline: str  # the sha of the commit it started from
    name: str
    sha: str  # its own commit
    created: int = 0  # unix time of its commit

    @property
    def ref(self) -> str:
        return ref_of(self.baseline, self.name)


def ref_of(baseline: str, name: str) -> str:
    return f"{PREFIX}{baseline}/{name}"


def check_name(name: str) -> None:
    if not _NAME.match(name) or name.endswith((".lock", ".")) or ".." in name:
        raise ExperimentError(
            f"'{name}' cannot name an experiment",
            hint="use letters, digits, '-', '_' and '.', starting with a letter or digit",
        )


def baseline_label(repo: GitRepo, sha: str, head: str) -> str:
    """The branch a baseline is known by (HEAD's own branch first), else its short sha."""
    from git.exc import GitCommandError

    if sha == head and not repo.repo.head.is_detached:
        return repo.repo.active_branch.name
    try:
        names = repo.repo.git.branch("--points-at", sha, "--format=%(refname:short)").split()
    except GitCommandError:  # a remote's baseline this repository does not have
        names = []
    return names[0] if names else sha[:7]


def new_name(taken: set[str]) -> str:
    """A short random name, as DVC makes them: exp-1a2b3."""
    while True:
        name = f"exp-{secrets.token_hex(3)[:5]}"
        if name not in taken:
            return name


def _parse(refname: str, sha: str, created: int = 0) -> Experiment | None:
    if not refname.startswith(PREFIX):
        return None
    baseline, _, name = refname[len(PREFIX) :].partition("/")
    if not name or "/" in name:
        return None
    return Experiment(baseline, name, sha, created)


def local(repo: GitRepo, baseline: str | None = None) -> list[Experiment]:
    """Experiments in this repository (of one baseline, or all), oldest first."""
    pattern = ref_of(baseline, "") if baseline else PREFIX
    text = repo.repo.git.for_each_ref("--format=%(refname) %(objectname) %(committerdate:unix)", pattern)
    found = []
    for line in text.splitlines():
        refname, sha, created = line.split(" ")
        experiment = _parse(refname, sha, int(created or 0))
        if experiment is not None:
            found.append(experiment)
    return sorted(found, key=lambda e: (e.created, e.name))


def remote(repo: GitRepo, name: str) -> list[Experiment]:
    """Experiments a git remote has (a remote name or URL)."""
    from git.exc import GitCommandError

    if not name or name.startswith("-"):
        raise ExperimentError(f"'{name}' is not a git remote", hint="name a remote such as origin, or a URL")
    try:
        text = repo.repo.git.ls_remote("--refs", name, f"{PREFIX}*")
    except GitCommandError as exc:
        detail = " ".join(str(exc.stderr or exc).split())
        raise ExperimentError(
            f"could not list the experiments of '{name}': {detail}",
            hint="check 'git remote -v' and that the remote can be reached",
        ) from None
    found = []
    for line in text.splitlines():
        sha, _, refname = line.partition("\t")
        experiment = _parse(refname, sha)
        if experiment is not None:
            found.append(experiment)
    return sorted(found, key=lambda e: (e.baseline, e.name))


def find(repo: GitRepo, name: str, head: str | None = None) -> Experiment:
    """The experiment called name (or whose commit sha starts with it); HEAD's first when two
    baselines have one of that name."""
    experiments = local(repo)
    matches = [e for e in experiments if e.name == name]
    if not matches and re.fullmatch(r"[0-9a-f]{4,40}", name):
        matches = [e for e in experiments if e.sha.startswith(name)]
    if len(matches) > 1:
        matches = [e for e in matches if e.baseline == head] or matches
    if len(matches) == 1:
        return matches[0]
    if matches:
        bases = ", ".join(sorted(e.baseline[:7] for e in matches))
        raise ExperimentError(
            f"'{name}' names experiments of several baselines ({bases})",
            hint="check out the baseline you mean first, or remove the others",
        )
    hint = did_you_mean(name, [e.name for e in experiments])
    raise ExperimentError(f"no experiment named '{name}'", hint=hint or "'pipetool exp list --all' shows them all")


def revision(repo: GitRepo, text: str | None) -> str | None:
    """An experiment's commit for its name; anything else is a git revision (None or 'workspace':
    the workspace), passed on as it is."""
    if text is None or text == "workspace":
        return text
    if any(e.name == text for e in local(repo)):
        from .snapshot import head

        return find(repo, text, head(repo)).sha
    return text


def listing(root: str, remote_name: str | None = None, every_baseline: bool = False) -> list[Experiment]:
    """The experiments of HEAD (or of every baseline), here or on a git remote."""
    from .snapshot import head

    repo = GitRepo(root)
    baseline = head(repo)
    found = remote(repo, remote_name) if remote_name else local(repo)
    return found if every_baseline else [e for e in found if e.baseline == baseline]


@dataclass(frozen=True)
class Group:
    """The experiments of one baseline, with the name it is known by (its branch, or short sha)."""

    baseline: str
    label: str
    experiments: tuple[Experiment, ...]


def by_baseline(root: str, experiments: list[Experiment]) -> list[Group]:
    """The experiments grouped by baseline, HEAD's group first, then in the order they came."""
    from .snapshot import head

    repo = GitRepo(root)
    current = head(repo)
    baselines = dict.fromkeys(
        [e.baseline for e in experiments if e.baseline == current] + [e.baseline for e in experiments]
    )
    return [
        Group(b, baseline_label(repo, b, current), tuple(e for e in experiments if e.baseline == b)) for b in baselines
    ]


def remove(root: str, names: list[str], everything: bool = False) -> list[Experiment]:
    """Delete the named experiments' refs (or every experiment's); returns those removed."""
    from .snapshot import head

    if everything == bool(names):
        raise ExperimentError("name the experiments to remove, or give --all (not both)")
    repo = GitRepo(root)
    if everything:
        gone = local(repo)
    else:
        current = head(repo)
        gone = list({e.ref: e for e in (find(repo, name, current) for name in names)}.values())
    delete(repo, gone)
    return gone


def check_free(repo: GitRepo, baseline: str, names: list[str]) -> None:
    """Refuse names already taken on this baseline (an experiment is never overwritten)."""
    taken = {e.name for e in local(repo, baseline)}
    clash = [n for n in names if n in taken]
    if clash:
        raise ExperimentError(
            f"an experiment named '{clash[0]}' already exists on this commit",
            hint=f"choose another name, or 'pipetool exp remove {clash[0]}' first",
        )


def create(repo: GitRepo, experiment: Experiment) -> None:
    """Point the experiment's ref at its commit; fails if the ref exists (the empty old value)."""
    from git.exc import GitCommandError

    try:
        repo.repo.git.update_ref(experiment.ref, experiment.sha, "")
    except GitCommandError:
        raise ExperimentError(
            f"an experiment named '{experiment.name}' already exists on this commit",
            hint=f"its results are in commit {experiment.sha[:7]}; "
            f"'pipetool exp remove {experiment.name}' and run it again",
        ) from None


def delete(repo: GitRepo, experiments: list[Experiment]) -> None:
    for experiment in experiments:
        repo.repo.git.update_ref("-d", experiment.ref, experiment.sha)
