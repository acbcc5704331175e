"""Unit tests import the collection by its name: ansible_collections.netvirt.linux.

build/collections/ansible_collections/netvirt/linux is a symlink to the
repository root (made by `make venv`, and here if missing), and build/collections
goes first on sys.path.
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / "build" / "collections"


def _ensure_collection_link() -> None:
    link = COLLECTIONS / "ansible_collections" / "netvirt" / "linux"
    if link.exists():
        return
    link.parent.mkdir(parents=True, exist_ok=True)
    try:
        link.symlink_to(REPO)
    except FileExistsError:  # another pytest worker made it first
        pass


_ensure_collection_link()
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
# unit_helpers.py, the tests' shared fixtures, is imported by name.
UNIT = str(Path(__file__).resolve().parent)
if UNIT not in sys.path:
    sys.path.insert(0, UNIT)
