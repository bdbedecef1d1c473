"""A small fingerprint of the environment a stage runs in, and what differs between two.

Python version, platform, CPU model and SIMD flags, the installed Python distributions (by
importlib.metadata, in this process: no pip) and, where numpy is installed, its BLAS library and
the kernel OpenBLAS picked for this processor (asked of a child process, so pipetool never imports
numpy). Computed only when asked (repro asks once per run, and only when a stage produced new
results).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import xxhash

# The flags that change which floating-point kernels a library picks.
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512_vnni", "amx_tile")

# Run by the interpreter in a child process: numpy's version, BLAS and the OpenBLAS kernel in use.
_BLAS_PROBE = r"""
import ctypes, json, numpy
info = {"numpy": numpy.__version__}
try:
    blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
    info["blas"] = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
except Exception:
    pass
try:
    paths = [line.split()[-1] for line in open("/proc/self/maps") if "openblas" in line.lower()]
except OSError:
    paths = []
for path in dict.fromkeys(paths):
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        continue
    for prefix in ("scipy_openblas", "openblas"):
        for suffix in ("64_", ""):
            function = getattr(lib, f"{prefix}_get_corename{suffix}", None)
            if function is not None:
                function.restype = ctypes.c_char_p
                info["kernel"] = function().decode()
                break
        if "kernel" in info:
            break
    if "kernel" in info:
        break
print(json.dumps(info))
"""


# Environment variables that change which kernels the numeric libraries pick.
_KERNEL_VARIABLES = ("OPENBLAS_", "GOTO", "MKL_", "NPY_", "OMP_", "BLIS_")
CACHE_FILE = "environment-{}.json"  # one per interpreter: two venvs used in turn do not evict each other


def fingerprint(python: str | None = None, cache_dir: str | None = None) -> dict[str, Any]:
    """This environment, as plain data (sorted, so equal environments dump to equal bytes).

    With cache_dir (the user's pipetool cache), kept there under what it depends on: the
    interpreter, the mtimes of its import path's folders (installing or removing a package
    changes its folder's), the variables that choose BLAS kernels, and the boot (a CPU does not
    change while the machine runs); a repeat costs a few stats instead of ~0.5 s."""
    python = python or sys.executable
    if cache_dir is None:
        return _fingerprint(python)
    key = _cache_key(python)
    path = os.path.join(cache_dir, CACHE_FILE.format(xxhash.xxh3_64_hexdigest(python.encode())))
    try:
        with open(path, encoding="utf-8") as handle:
            cached = json.load(handle)
        if isinstance(cached, dict) and cached.get("key") == key and isinstance(cached.get("fingerprint"), dict):
            return cached["fingerprint"]
    except (OSError, ValueError):
        pass
    found = _fingerprint(python)
    try:
        os.makedirs(cache_dir, exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump({"key": key, "fingerprint": found}, handle)
        os.replace(temporary, path)
    except OSError:
        pass  # no room or read-only: computed again next time
    return found


def _cache_key(python: str) -> list:
    folders = []
    here = os.getcwd()
    for folder in sys.path:
        if not folder or not os.path.isabs(folder) or (folder + os.sep).startswith(here + os.sep):
            continue  # the project's own folders change with every run
        try:
            folders.append([folder, os.stat(folder or ".").st_mtime_ns])
        except OSError:
            continue
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            boot = handle.read().strip()
    except OSError:
        import platform  # here and below, not at import: a repro whose environment is kept needs none

        boot = platform.node()
    variables = sorted([k, v] for k, v in os.environ.items() if k.startswith(_KERNEL_VARIABLES))
    return [python, sys.version, folders, variables, boot]


def _fingerprint(python: str) -> dict[str, Any]:
    import platform

    packages = installed()
    cpu, flags = _cpu()
    found: dict[str, Any] = {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": " ".join(filter(None, (platform.system(), platform.machine(), " ".join(platform.libc_ver())))),
        "cpu": cpu,
        "cpu_flags": flags,
    }
    if "numpy" in packages:
        found.update(_blas(python))
    found["packages_digest"] = xxhash.xxh3_64_hexdigest(json.dumps(packages, sort_keys=True).encode())
    found["packages"] = packages
    return found


def digest(environment: dict[str, Any]) -> str:
    return xxhash.xxh3_64_hexdigest(json.dumps(environment, sort_keys=True).encode())


def installed() -> dict[str, str]:
    """Every distribution importlib.metadata sees, by normalised name."""
    from importlib import metadata

    found = {}
    for distribution in metadata.distributions():
        name = distribution.metadata["Name"]
        if name:
            found[name.lower().replace("_", "-").replace(".", "-")] = distribution.version
    return dict(sorted(found.items()))


def _cpu() -> tuple[str, str]:
    """The CPU's model and its SIMD flags (Linux's /proc/cpuinfo; elsewhere what platform says)."""
    model, flags = "", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "Model", "cpu model") and not model:
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = set(value.split())
                if model and flags:
                    break
    except OSError:
        pass
    if not model:
        import platform

        model = platform.processor() or platform.machine()
    return model, " ".join(f for f in SIMD_FLAGS if f in flags)


def _blas(python: str) -> dict[str, str]:
    try:
        done = subprocess.run([python, "-c", _BLAS_PROBE], capture_output=True, text=True, timeout=60)
        found = json.loads(done.stdout) if done.returncode == 0 else {}
    except (OSError, subprocess.SubprocessError, ValueError):
        found = {}
    return {key: str(value) for key, value in found.items() if key in ("numpy", "blas", "kernel")}


_LABELS = {
    "python": "Python",
    "platform": "platform",
    "cpu": "CPU",
    "cpu_flags": "CPU flags",
    "numpy": "numpy",
    "blas": "BLAS",
    "kernel": "OpenBLAS kernel",
}
MAX_PACKAGES_SHOWN = 12


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed from the old environment to the new, one short item each
    ("numpy 2.4.6 → 2.4.7", "OpenBLAS kernel Haswell → Zen")."""
    changed = [
        f"{label} {old.get(key) or '(none)'} → {new.get(key) or '(none)'}"
        for key, label in _LABELS.items()
        if key != "numpy" and old.get(key) != new.get(key)
    ]
    before, after = old.get("packages") or {}, new.get("packages") or {}
    packages = [
        f"{name} {before.get(name, '(not installed)')} → {after.get(name, '(not installed)')}"
        for name in sorted({*before, *after})
        if before.get(name) != after.get(name)
    ]
    if not packages and old.get("packages_digest") != new.get("packages_digest") and not before:
        packages = ["Python packages (the recorded list is missing)"]
    if len(packages) > MAX_PACKAGES_SHOWN:
        packages = [*packages[:MAX_PACKAGES_SHOWN], f"and {len(packages) - MAX_PACKAGES_SHOWN} more package(s)"]
    return changed + packages
