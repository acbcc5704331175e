"""What the unit tests share: every name of the model, the planner and the kinds, and world builders.

The engine keeps each kind in its own file (plugins/module_utils/_kind_*.py);
tests reach all of them through ``P`` (``P.plan``, ``P.CreateVeth``,
``P.SetSysctl``) and the model's names directly.
"""

from pathlib import Path
from types import SimpleNamespace

import yaml

from ansible_collections.netvirt.linux.plugins.module_utils import (
    _actions,
    _kind_bridge,
    _kind_netns,
    _kind_route,
    _kind_tap,
    _kind_veth,
    _kind_vxlan,
    _kinds,
    _model,
    _ownership,
    _plan,
)

_MODULES = (_model, _actions, _plan, _ownership) + tuple(
    __import__(kind.plan.__module__, fromlist=["KIND"]) for kind in _kinds.KINDS)
_NAMES = {}
for _module in _MODULES:
    _NAMES.update({name: value for name, value in vars(_module).items() if not name.startswith("__")})

# Every public name of the engine's pure layers, wherever it lives.
P = SimpleNamespace(**_NAMES)
globals().update({name: value for name, value in _NAMES.items() if not name.startswith("_")})

Link = _model.Link
NamespaceState = _model.NamespaceState
World = _model.World
HOST = _model.HOST
Bridge, BridgeInfo, BridgePort, PortInfo = _kind_bridge.Bridge, _kind_bridge.BridgeInfo, _kind_bridge.BridgePort, \
    _kind_bridge.PortInfo
Tap, TunInfo = _kind_tap.Tap, _kind_tap.TunInfo
Veth = _kind_veth.Veth
Netns = _kind_netns.Netns
Route, RouteEntry = _kind_route.Route, _kind_route.RouteEntry
Vxlan, VxlanInfo = _kind_vxlan.Vxlan, _kind_vxlan.VxlanInfo


def world(namespaces=(), nsids=None, **spaces):
    """world(host=[links], ns1=[links]); 'host' is the module's own namespace.

    ``nsids`` {(namespace, netnsid): namespace} says which namespace a netnsid
    names inside another, as the kernel would answer; peers are then resolved
    by the same rule the kernel adapter uses.
    """
    result = World(namespaces=frozenset(namespaces))
    for name, links in spaces.items():
        key = HOST if name == "host" else name
        result.spaces[key] = NamespaceState(key, {link.name: link for link in links})
    table = {(HOST if ns == "host" else ns, nsid): (HOST if other == "host" else other)
             for (ns, nsid), other in (nsids or {}).items()}
    _model.resolve_peers(result.spaces, lambda netns, link: table.get((netns, link.link_netnsid)))
    return result


def kinds(plan):
    """The actions of a plan by class name, in order."""
    return [type(action).__name__ for action in plan.actions]


def action_group_misses(kinds) -> list:
    """What meta/runtime.yml's action group ``netvirt`` gets wrong about these kinds: it must hold every kind's
    module that takes ``netns`` (module_defaults: {group/netvirt.linux.netvirt: {netns: X}}), and no kind's
    module that does not. tests/build/test_collection_build.py checks every module from its rendered docs."""
    runtime = yaml.safe_load((Path(__file__).resolve().parents[2] / "meta" / "runtime.yml").read_text())
    group = set(runtime["action_groups"]["netvirt"])
    misses = []
    for kind in kinds:
        if "netns" in kind.options and kind.name not in group:
            misses.append("%s takes netns but is not in action group netvirt" % kind.name)
        elif "netns" not in kind.options and kind.name in group:
            misses.append("%s does not take netns but is in action group netvirt" % kind.name)
    return misses
