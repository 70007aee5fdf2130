"""Options of every workspace JupyterLab server: hub users' servers and ``workspace lab``.

* The Launcher and the kernel picker offer only "Python (workspace)" (``ws`` and ``%%sql``
  preloaded): ``KernelSpecManager.allowed_kernelspecs`` hides the plain "Python 3
  (ipykernel)" that ipykernel installs. It only hides it from the lists: a notebook that
  names ``python3`` still starts that kernel.
* ``workspace`` (and the venv's ``python``, ``jupyter``...) is on the PATH of Lab terminals.
  A terminal is a login shell, and a login shell's ``/etc/profile`` resets PATH to the
  system default, so the server's own PATH is not enough: the terminal runs the login
  scripts first (``/etc/profile``, ``~/.profile``), then puts the venv's ``bin`` in front
  and starts the user's interactive shell.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

__all__ = ["KERNEL_NAME", "lab_server_args", "server_path", "terminal_command"]

#: The one kernel the Launcher offers (``kernels/workspace``).
KERNEL_NAME = "workspace"


def venv_bin() -> Path:
    """The ``bin`` folder of the Python environment the workspace runs from."""
    return Path(sys.prefix) / "bin"


def terminal_command(bin_dir: Path | None = None) -> list[str]:
    """The command of a Lab terminal: a login shell's setup, then ``bin_dir`` first on PATH.

    Examples
    --------
    >>> terminal_command(Path("/opt/ws/bin"))[:2]
    ['/bin/sh', '-lc']
    >>> "PATH=/opt/ws/bin:" in terminal_command(Path("/opt/ws/bin"))[2]
    True
    """
    folder = shlex.quote(str(bin_dir or venv_bin()))
    return [
        "/bin/sh",
        "-lc",
        f'PATH={folder}:"$PATH"; export PATH; exec "${{SHELL:-/bin/bash}}" -i',
    ]


def server_path(current: str | None, bin_dir: Path | None = None) -> str:
    """``current`` PATH with ``bin_dir`` (the venv's ``bin``) first, without duplicates.

    Examples
    --------
    >>> server_path("/usr/bin:/opt/ws/bin", Path("/opt/ws/bin"))
    '/opt/ws/bin:/usr/bin'
    """
    folder = str(bin_dir or venv_bin())
    rest = [p for p in (current or "/usr/local/bin:/usr/bin:/bin").split(":") if p and p != folder]
    return ":".join([folder, *rest])


def lab_server_args(bin_dir: Path | None = None) -> list[str]:
    """Command-line options for a workspace Lab server (``jupyterhub-singleuser`` or
    ``jupyter lab``): the workspace kernel as the default and the only one listed, and the
    terminal command of :func:`terminal_command`."""
    return [
        f"--MappingKernelManager.default_kernel_name={KERNEL_NAME}",
        f"--KernelSpecManager.allowed_kernelspecs={KERNEL_NAME}",
        "--ServerApp.terminado_settings="
        + json.dumps({"shell_command": terminal_command(bin_dir)}),
    ]
