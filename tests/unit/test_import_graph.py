"""No import circle among the collection's plugins.

The import graph of plugins/module_utils, plugins/modules, plugins/action and
plugins/doc_fragments, read with `ast` (tools do not follow `ansible_collections.`
imports). An import inside a function counts: it hides a circle from Python at load time,
not from a reader. Only an `if TYPE_CHECKING:` block is left out (never run).

The layering this keeps (CONTRIBUTING.md): `_results` and the other low modules import
nothing above them; kind files do not import the planner, the registry, ownership or
the engine (they are handed the planner); the planner may import the registry.
"""

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set

import pytest

REPO = Path(__file__).resolve().parents[2]
PREFIX = "ansible_collections.netvirt.linux"
DIRECTORIES = ("module_utils", "modules", "action", "doc_fragments")


def plugin_files(root: Path) -> Dict[str, Path]:
    """Dotted name under the collection ('plugins.module_utils._plan') -> file."""
    files = {}
    for directory in DIRECTORIES:
        for path in sorted((root / "plugins" / directory).glob("*.py")):
            files["plugins.%s.%s" % (directory, path.stem)] = path
    return files


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def run_time_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, functions' bodies included, but not the body of `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def collection_name(module: str, package: str, level: int) -> str:
    """'ansible_collections.netvirt.linux.plugins.x' or '.x' relative -> 'plugins.x' ('' if outside)."""
    if level:
        parts = package.split(".")
        base = parts[:len(parts) - (level - 1)] if level > 1 else parts
        return ".".join(base + ([module] if module else []))
    if module == PREFIX or module.startswith(PREFIX + "."):
        return module[len(PREFIX) + 1:]
    return ""


def imports_of(name: str, path: Path, files: Dict[str, Path]) -> Set[str]:
    """The plugin files that the file `name` imports, wherever the import statement is."""
    package = name.rsplit(".", 1)[0]
    found = set()
    for node in run_time_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [collection_name(alias.name, package, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = collection_name(node.module or "", package, node.level)
            # `from package import _x` imports the file _x; `from _x import name` the file _x.
            targets = [target] + ["%s.%s" % (target, alias.name) for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in files)
    return found


def import_graph(root: Path) -> Dict[str, Set[str]]:
    files = plugin_files(root)
    return {name: imports_of(name, path, files) for name, path in files.items()}


def circles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components with a circle in them (Tarjan), each sorted."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def describe(graph: Dict[str, Set[str]], component: List[str]) -> str:
    members = set(component)
    edges = ["    %s -> %s" % (a, ", ".join(sorted(graph[a] & members))) for a in component]
    return "%d files: %s\n%s" % (len(component), ", ".join(component), "\n".join(edges))


# -- the collection --------------------------------------------------------------------

GRAPH = import_graph(REPO)


def test_no_import_circle():
    found = circles(GRAPH)
    assert not found, "import circles (imports inside functions count; move what they share to a lower module):\n" + "\n".join(
        describe(GRAPH, component) for component in found)


def test_graph_is_read():
    # A resolver that found nothing would pass the test above: check edges of every form.
    assert "plugins.module_utils._kind_veth" in GRAPH["plugins.module_utils._kinds"]  # from package import (...)
    assert "plugins.module_utils._module" in GRAPH["plugins.modules.veth"]  # from module import name
    assert "plugins.module_utils._netlink" in GRAPH["plugins.module_utils._module"]  # inside a function
    assert "plugins.module_utils._kinds" in GRAPH["plugins.doc_fragments.kinds"]
    assert len(GRAPH) > 40 and sum(map(len, GRAPH.values())) > 100


# The bottom of module_utils: what the planner, ownership and every kind build on.
BOTTOM = ("_errors", "_namespaces", "_nlwire", "_model", "_actions", "_results")
KIND_MUST_NOT_IMPORT = ("_plan", "_kinds", "_ownership", "_engine")


@pytest.mark.parametrize("kind", sorted(name for name in GRAPH if name.startswith("plugins.module_utils._kind_")))
def test_kind_files_are_handed_the_planner(kind):
    imported = {name.rsplit(".", 1)[1] for name in GRAPH[kind]}
    assert not imported & set(KIND_MUST_NOT_IMPORT), "%s imports %s" % (kind, sorted(imported & set(KIND_MUST_NOT_IMPORT)))


@pytest.mark.parametrize("low", BOTTOM)
def test_the_bottom_imports_nothing_above_it(low):
    imported = {name.rsplit(".", 1)[1] for name in GRAPH["plugins.module_utils." + low]}
    assert imported <= set(BOTTOM), "%s imports %s" % (low, sorted(imported - set(BOTTOM)))


def test_sysctl_does_not_read_the_registry():
    assert "plugins.module_utils._kinds" not in GRAPH["plugins.module_utils._sysctl"]


# -- the checker itself, on a made-up tree ---------------------------------------------

def write(root: Path, relative: str, text: str) -> None:
    path = root / "plugins" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_checker_finds_a_circle_closed_inside_a_function(tmp_path):
    write(tmp_path, "module_utils/_a.py", "from %s.plugins.module_utils._b import B\n" % PREFIX)
    write(tmp_path, "module_utils/_b.py", "def f():\n    from %s.plugins.module_utils import _c\n" % PREFIX)
    write(tmp_path, "module_utils/_c.py", "import %s.plugins.module_utils._a\n" % PREFIX)
    write(tmp_path, "module_utils/_d.py", "from . import _d\n")
    write(tmp_path, "module_utils/_e.py", "from ._a import A\n")
    write(tmp_path, "modules/m.py", "from ..module_utils import _a\n")
    graph = import_graph(tmp_path)
    assert graph["plugins.module_utils._e"] == {"plugins.module_utils._a"}
    assert graph["plugins.modules.m"] == {"plugins.module_utils._a"}
    assert circles(graph) == [
        ["plugins.module_utils._a", "plugins.module_utils._b", "plugins.module_utils._c"],
        ["plugins.module_utils._d"],
    ]


def test_checker_leaves_out_type_checking_blocks(tmp_path):
    write(tmp_path, "module_utils/_a.py", "from %s.plugins.module_utils._b import B\n" % PREFIX)
    write(tmp_path, "module_utils/_b.py", (
        "import typing\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from %s.plugins.module_utils._a import A\n"
        "if typing.TYPE_CHECKING:\n    from %s.plugins.module_utils import _a\n"
        "else:\n    from %s.plugins.module_utils import _c\n") % (PREFIX, PREFIX, PREFIX))
    write(tmp_path, "module_utils/_c.py", "")
    graph = import_graph(tmp_path)
    assert graph["plugins.module_utils._b"] == {"plugins.module_utils._c"}
    assert circles(graph) == []
