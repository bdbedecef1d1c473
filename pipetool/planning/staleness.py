"""The one decision: is a stage stale, and why. Pure: plain data in, reasons out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..files.safepath import is_url
from ..pipeline.params import ABSENT, flatten, scalar_text
from ..pipeline.stage import Stage
from ..storage.hashing import HashInfo
from ..storage.lock import Compact, LockEntry, PathRecord


@dataclass(frozen=True)
class Reason:
    """One cause of staleness, e.g. Reason('params', 'train.lr', 'modified', 0.1, 0.2)."""

    kind: str  # new | dropped | always_changed | forced | cmd | deps | params | outs | upstream
    subject: str | None = None
    change: str | None = None  # modified | deleted | added | removed | new
    old: Any = None
    new: Any = None

    def __str__(self) -> str:
        if self.kind == "new":
            return "new stage"
        if self.kind == "dropped":
            return "lock entry dropped in merge (both branches changed it)"
        if self.kind == "always_changed":
            return "always changed" + (f" ({self.subject})" if self.subject else "")
        if self.kind == "forced":
            return "forced"
        if self.kind == "cmd":
            return "changed cmd"
        if self.kind == "upstream":
            return f"upstream stage '{self.subject}' runs first"
        if self.kind == "params" and self.change == "modified":
            return f"changed params: {self.subject} {_show(self.old)} -> {_show(self.new)}"
        if self.kind == "deps" and self.change == "modified" and self.old is not None:
            return f"changed deps: modified {self.subject} ({self.old} -> {self.new})"  # a URL's version
        return f"changed {self.kind}: {self.change} {self.subject}"

    def to_dict(self) -> dict:
        data = {"kind": self.kind, "message": str(self)}
        for key in ("subject", "change"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.kind == "params" or self.old is not None:
            data["old"] = None if self.old is ABSENT else self.old
            data["new"] = None if self.new is ABSENT else self.new
        return data


def _show(value: Any) -> str:
    return "(absent)" if value is ABSENT else scalar_text(value)


@dataclass  # not frozen: made once per stage judged, and a frozen one costs four times as much to make
class Observed:
    """What is on disk now: hashes of deps and outs (None when missing), param values."""

    deps: Mapping[str, HashInfo | None]
    outs: Mapping[str, HashInfo | None]
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def decide(stage: Stage, locked: LockEntry | None, observed: Observed) -> list[Reason]:
    """Every reason the stage must run, per DESIGN.md's rule; empty means up to date."""
    if locked is None:
        return [Reason("new")]
    if locked.dropped_in_merge:
        return [Reason("dropped")]
    reasons: list[Reason] = []
    if stage.runs_always:
        reasons.append(Reason("always_changed", None if stage.always_changed else "no deps or outs"))
    if not _same_cmd(stage.cmd, locked.cmd):
        reasons.append(Reason("cmd"))
    reasons += _path_reasons("deps", locked.deps, observed.deps)
    reasons += _param_reasons(locked.params, observed.params)
    reasons += _path_reasons("outs", locked.outs, observed.outs)
    return reasons


def unchanged(
    stage: Stage, locked: Compact | None, hashes: Mapping[str, str], values: Mapping[str, Mapping] | None = None
) -> bool:
    """Whether decide() would find no reason, told from the stage's lock entry in its compact
    form (lock.compact), the hashes of regular files known for their current stat alone
    (hashes: path -> hash; Hasher.known_hashes) and, for a stage with params, their values now
    (values: as observe.param_values gives them): the usual stage of a no-op status, judged
    without a LockEntry, an Observed or a HashInfo. True only when each dep and out is recorded
    with the hash it has now, the cmd is the recorded one and the params have their recorded
    values; False means "ask decide()", not "stale"."""
    if locked is None or stage.always_changed or (stage.params and values is None):
        return False
    cmd, deps, params, outs, dropped, _ = locked
    if dropped or not (stage.deps or stage.outs):
        return False  # (no deps or outs: the stage runs always)
    if not (len(stage.cmd) == 1 and stage.cmd[0] == cmd if type(cmd) is str else _same_cmd(stage.cmd, cmd)):
        return False
    get = hashes.get
    for paths, records in ((stage.deps, deps), (stage.out_paths, outs)):  # no call per path: 100,000 stages
        if len(paths) != len(records):
            return False
        for path, digest, _, _, key in records:
            if key != "xxh3" or get(path) != digest:
                return False
        if len(records) == 1:
            if records[0][0] != paths[0]:
                return False
        elif records and not _each_once(paths, records):
            return False
    return not _param_reasons(params, values or {})


def _each_once(paths: tuple[str, ...], records: tuple[tuple, ...]) -> bool:
    """Whether the records, (path, hash, size, nfiles, key) each, are of exactly these paths, each once."""
    named = set(paths)
    return len(named) == len(paths) and named == {record[0] for record in records}


def _same_cmd(cmd: tuple[str, ...], recorded: str | tuple[str, ...]) -> bool:
    """Whether the lock records this cmd as Stage.cmd_record() writes it: one command as a
    string, several as a list (without making the record: a status of 100,000 stages asks)."""
    if isinstance(recorded, str):
        return len(cmd) == 1 and cmd[0] == recorded
    return len(cmd) != 1 and cmd == tuple(recorded)


def _path_reasons(kind: str, records: tuple[PathRecord, ...], observed: Mapping[str, HashInfo | None]) -> list[Reason]:
    if _all_same(records, observed):  # the usual case, without the mapping below (a no-op status of 100,000 stages)
        return []
    reasons = []
    recorded = {record.path: record for record in records}
    for path, info in observed.items():
        record = recorded.get(path)
        if record is None:
            reasons.append(Reason(kind, path, "added"))
        elif info is None:
            reasons.append(Reason(kind, path, "deleted"))
        elif info.hash != record.hash or info.key != record.key:
            if is_url(path):  # the source's version, old -> new, e.g. 'etag 1a2b -> etag 3c4d'
                old, new = _version(record.key, record.hash), _version(info.key, info.hash)
                reasons.append(Reason(kind, path, "modified", old, new))
            else:
                reasons.append(Reason(kind, path, "modified"))
    reasons += [Reason(kind, path, "removed") for path in recorded if path not in observed]
    return reasons


def _all_same(records: tuple[PathRecord, ...], observed: Mapping[str, HashInfo | None]) -> bool:
    """Whether the paths recorded are those observed, each with the recorded hash."""
    if len(records) != len(observed):
        return False
    for record in records:
        info = observed.get(record.path)
        if info is None or info.hash != record.hash or info.key != record.key:
            return False
    return len(records) < 2 or len({record.path for record in records}) == len(records)


def _version(key: str, version: str) -> str:
    return f"{key} {version if len(version) <= 40 else version[:37] + '...'}"


def _same(before: Any, after: Any) -> bool:
    if type(before) is not type(after):
        return False
    if isinstance(before, float) and math.isnan(before):
        return math.isnan(after)
    return before == after


def _param_reasons(locked: Mapping[str, Mapping], observed: Mapping[str, Mapping]) -> list[Reason]:
    if not locked and not observed:
        return []
    reasons = []
    for file in sorted(set(locked) | set(observed)):
        old = flatten(dict(locked.get(file, {})))
        new = flatten(dict(observed.get(file, {})))
        for key in sorted(set(old) | set(new)):
            before, after = old.get(key, ABSENT), new.get(key, ABSENT)
            if before is ABSENT:
                reasons.append(Reason("params", key, "added", before, after))
            elif after is ABSENT:
                reasons.append(Reason("params", key, "removed", before, after))
            elif not _same(before, after):
                reasons.append(Reason("params", key, "modified", before, after))
    return reasons
