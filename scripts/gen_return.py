#!/usr/bin/env python
"""Write each kind's RETURNS table into its module's RETURN block.

ansible-core (2.16 included) reads a module's RETURN from the module file itself, never from a doc fragment,
so the block is generated text in the file: edit the kind's RETURNS (plugins/module_utils/_kind_NAME.py), then
run `python3 scripts/gen_return.py`. tests/unit/test_docs.py fails while a module and its table differ.
"""

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINK = REPO / "build" / "collections" / "ansible_collections" / "netvirt" / "linux"
RETURN = re.compile(r'^RETURN = r"""\n.*?^"""$', re.M | re.S)


def main() -> int:
    if not LINK.exists():
        LINK.parent.mkdir(parents=True, exist_ok=True)
        LINK.symlink_to(REPO)
    sys.path.insert(0, str(REPO / "build" / "collections"))
    from ansible_collections.netvirt.linux.plugins.doc_fragments.kinds import return_documentation
    from ansible_collections.netvirt.linux.plugins.module_utils._kinds import KINDS

    for kind in KINDS:
        path = REPO / "plugins" / "modules" / (kind.name + ".py")
        text = path.read_text()
        block = 'RETURN = r"""%s"""' % return_documentation(kind)
        new, count = RETURN.subn(lambda _match: block, text)  # noqa: B023 - used at once
        if count != 1:
            print("%s: no RETURN = r\"\"\"...\"\"\" block to replace" % path, file=sys.stderr)
            return 1
        if new != text:
            path.write_text(new)
            print("rewrote", path.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
