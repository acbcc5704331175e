"""Unit tests of the lab-file compiler: nodes and links to topology descriptions, addresses, routes, checks."""

import pytest
import yaml

from ansible_collections.netvirt.linux.plugins.module_utils._labfile import LabFileError, compile_lab
from ansible_collections.netvirt.linux.plugins.module_utils._topology import build

CAMPUS = yaml.safe_load("""
name: campus
routing: static
nodes:
  h1: {}
  r1: {forward: true}
  h2: {gateway: r1}
  h3: {}
  host: {}
links:
  - [h1, r1]
  - {nodes: [r1, h2], mtu: 1400, shaping: {rate: 10mbit, delay: 5ms}}
  - {name: lan, nodes: [h1, h2, h3], prefix: 10.9.0.0/24}
  - {nodes: [h1, r1], addresses: {h1: 192.0.2.1/24, r1: 192.0.2.2/24}}
  - [h2:uplink, host:veth-h2]
""")


def problems(lab, hosts=None):
    with pytest.raises(LabFileError) as err:
        compile_lab(lab, hosts)
    return err.value.problems


def test_campus_compiles_and_every_share_builds():
    compiled = compile_lab(CAMPUS)
    share = compiled.shares["localhost"]
    build({k: v for k, v in share.items() if k != "name"})
    assert compiled.addresses["h1"] == {"eth0": ["10.128.0.1/30"], "eth1": ["10.9.0.1/24"], "eth2": ["192.0.2.1/24"]}
    assert compiled.addresses["host"] == {"veth-h2": ["10.128.0.10/30"]}
    assert share["bridges"] == [{"name": "lan", "ports": ["lan-h1", "lan-h2", "lan-h3"]}]
    assert share["veths"][1] == {
        "name": "eth1", "netns": "r1", "peer": "eth0", "peer_netns": "h2", "addresses": ["10.128.0.5/30"],
        "peer_addresses": ["10.128.0.6/30"], "mtu": 1400, "shaping": {"rate": "10mbit", "delay": "5ms"},
        "peer_shaping": {"rate": "10mbit", "delay": "5ms"}}
    assert share["veths"][-1] == {"name": "uplink", "netns": "h2", "peer": "veth-h2", "peer_netns": "",
                                  "addresses": ["10.128.0.9/30"], "peer_addresses": ["10.128.0.10/30"]}
    assert all(check["expect"] == "reachable" for check in compiled.checks)
    assert compiled.summary() == "lab campus: 5 nodes, 5 links (1 LAN), 1 host, routing static"
    assert compiled.placement == {name: "localhost" for name in CAMPUS["nodes"]}
    assert compile_lab(CAMPUS) == compiled, "deterministic"


def test_seed002_as_a_lab_file():
    lab = {"name": "seed002", "nodes": {"net0": {}, "net1": {}, "bridge": {}},
           "links": [{"name": "br", "nodes": ["net0:net0-bridge", "net1:net1-bridge"], "bridge_in": "bridge",
                      "ports": {"net0": "bridge-net0", "net1": "bridge-net1"},
                      "addresses": {"net0": "10.0.1.1/24", "net1": "10.0.1.2/24"}}]}
    share = compile_lab(lab).shares["localhost"]
    assert share == {
        "name": "seed002",
        "namespaces": [{"name": "net0"}, {"name": "net1"}, {"name": "bridge"}],
        "veths": [{"name": "net0-bridge", "netns": "net0", "peer": "bridge-net0", "peer_netns": "bridge",
                   "addresses": ["10.0.1.1/24"]},
                  {"name": "net1-bridge", "netns": "net1", "peer": "bridge-net1", "peer_netns": "bridge",
                   "addresses": ["10.0.1.2/24"]}],
        "bridges": [{"name": "br", "netns": "bridge", "ports": ["bridge-net0", "bridge-net1"]}],
    }


def test_unknown_node_is_named():
    lab = {"name": "x", "nodes": {"h1": {}}, "links": [["h1", "h9"]]}
    assert problems(lab) == ["links[0].nodes[1]: unknown node 'h9' (declare it under nodes)"]
