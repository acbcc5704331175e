"""The generated lab files (tests/integration/labfilegen.py), compiled without a kernel: every one compiles
(on one host and on three), appending a node and a link renames and renumbers nothing, the same seed gives
the same file, and the generator draws every shape it promises somewhere in its first labs. The kernel
side (built, checked, re-run, appended, previewed, removed) is tests/integration/test_generated_lab_files.py.
"""

import labfilegen
import pytest

from ansible_collections.netvirt.linux.plugins.module_utils._labfile import compile_lab

SEEDS = range(labfilegen.BASE_SEED, labfilegen.BASE_SEED + 25)
THREE = {"labhost1": "10.99.0.1", "labhost2": "10.99.0.2", "labhost3": "10.99.0.3"}


@pytest.mark.parametrize("hosts", [None, THREE], ids=["one-host", "three-hosts"])
def test_every_generated_lab_file_compiles_and_appending_renumbers_nothing(hosts):
    for seed in SEEDS:
        lab = labfilegen.generate(seed, list(hosts) if hosts else None)
        assert labfilegen.generate(seed, list(hosts) if hosts else None) == lab
        compiled = compile_lab(lab, hosts)
        grown = compile_lab(labfilegen.append(lab, seed), hosts)
        assert compile_lab(lab, hosts) == compiled, "seed %d: compiled twice, not equal" % seed
        for node, interfaces in compiled.addresses.items():
            for ifname, cidrs in interfaces.items():
                assert grown.addresses[node].get(ifname) == cidrs, (seed, node, ifname)
        assert len(grown.placement) == len(compiled.placement) + 1
        if hosts:
            assert set(compiled.placement.values()) == set(hosts), "seed %d: a host holds no node" % seed


def test_the_generator_draws_every_shape():
    seen = set()
    for seed in SEEDS:
        lab = labfilegen.generate(seed)
        seen.add("routing " + lab.get("routing", "none"))
        seen.update(key for key in ("addressing",) if key in lab)
        seen.update("host node" for node in lab["nodes"] if node == "host")
        seen.update("long name" for node in lab["nodes"] if len(node) > 15)
        seen.update("gateway" for options in lab["nodes"].values() if "gateway" in options)
        for link in lab["links"]:
            members = link["nodes"] if isinstance(link, dict) else link
            seen.update("ifname" for end in members if ":" in end)
            seen.add("LAN" if len(members) > 2 else "pair")
            if isinstance(link, dict):
                seen.update(key for key in ("bridge_in", "prefix", "addresses", "mtu", "name") if key in link)
    assert seen == {"routing static", "routing none", "addressing", "host node", "long name", "gateway", "ifname",
                    "LAN", "pair", "bridge_in", "prefix", "addresses", "mtu", "name"}
