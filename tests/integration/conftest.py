import os

import pytest
from sandbox import Sandbox


def pytest_collection_modifyitems(items):
    if os.geteuid() != 0:
        # Integration tests need root for unshare; fail loudly rather than skip.
        for item in items:
            item.add_marker(pytest.mark.usefixtures("_require_root"))


@pytest.fixture
def _require_root():
    pytest.fail("integration tests need root (unshare --net --mount); run them with make test as root")


@pytest.fixture
def sandbox(tmp_path):
    box = Sandbox(tmp_path)
    try:
        yield box
    finally:
        box.close()
