#!/usr/bin/env python
"""Seed ansible-test's pip bootstrap cache so `ansible-test sanity --venv` runs offline.

ansible-test bootstraps pip into each virtual environment it makes with a
get-pip script that it downloads from a host this project's machines cannot
reach, unless ~/.ansible/test/cache/get_pip_<version>.py already exists. This
writes that file from the pip wheel on PyPI: a small script that carries the
wheel and runs `pip install --upgrade --force-reinstall ARGS` from it, which is
what get-pip.py does. Run it with the Python that runs ansible-test.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import tempfile
import types

TEMPLATE = '''\
"""pip {version} bootstrap for ansible-test, written by netvirt.linux scripts/seed_get_pip.py from the pip wheel."""
import base64
import os
import sys
import tempfile

WHEEL = {wheel!r}


def main():
    args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
    directory = tempfile.mkdtemp(prefix="get-pip-")
    wheel = os.path.join(directory, "pip-{version}-py3-none-any.whl")
    with open(wheel, "wb") as handle:
        handle.write(base64.b64decode(WHEEL))
    sys.path.insert(0, wheel)
    from pip._internal.cli.main import main as pip_main
    sys.exit(pip_main(["install", "--upgrade", "--force-reinstall"] + args))


if __name__ == "__main__":
    main()
'''


def wanted_pip_version() -> str:
    from ansible_test._internal.python_requirements import get_venv_packages

    python = types.SimpleNamespace(version="%d.%d" % sys.version_info[:2])
    return get_venv_packages(python)["pip"]


def main() -> int:
    version = wanted_pip_version()
    cache = os.path.expanduser("~/.ansible/test/cache")
    target = os.path.join(cache, "get_pip_%s.py" % version.replace(".", "_"))
    if os.path.exists(target):
        print("ansible-test pip bootstrap already cached: %s" % target)
        return 0
    with tempfile.TemporaryDirectory(prefix="netvirt-pip-") as download:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--only-binary=:all:", "--dest", download, "pip==%s" % version], check=True)
        wheels = [name for name in os.listdir(download) if name.endswith(".whl")]
        if len(wheels) != 1:
            raise SystemExit("expected one pip wheel, found %s" % wheels)
        with open(os.path.join(download, wheels[0]), "rb") as handle:
            wheel = base64.b64encode(handle.read()).decode("ascii")
    os.makedirs(cache, exist_ok=True)
    partial = target + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(TEMPLATE.format(version=version, wheel=wheel))
    os.replace(partial, target)
    print("ansible-test pip bootstrap cached: %s" % target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
