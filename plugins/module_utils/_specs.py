# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of each topology section, as Ansible argument specs.

Each section takes the options of its single-object module (netns, veth,
bridge, tap, route) with the same types, choices and defaults, minus the
options that belong to the whole topology (``state``) or that it does not
offer (tap's ``recreate``); unit tests hold them to the modules' own specs.
Declared as suboptions, Ansible converts and checks each entry exactly as it
does a single module's options (``mtu: "9000"`` from ``-e`` becomes 9000).
"""

from __future__ import annotations

NETNS_OPTIONS = dict(
    name=dict(type="str", required=True),
    loopback=dict(type="bool", default=True),
    sysctls=dict(type="dict"),
)

VETH_OPTIONS = dict(
    name=dict(type="str", required=True),
    netns=dict(type="str"),
    # Required: the veth module requires it with state=present, and a topology only builds.
    peer=dict(type="str", required=True),
    peer_netns=dict(type="str"),
    addresses=dict(type="list", elements="str"),
    peer_addresses=dict(type="list", elements="str"),
    mtu=dict(type="int"),
    up=dict(type="bool", default=True),
)

BRIDGE_OPTIONS = dict(
    name=dict(type="str", required=True),
    netns=dict(type="str"),
    # Entries are interface names or dicts (PORT_OPTIONS); Ansible's suboptions
    # take only dicts, so dict entries are converted by convert_port.
    ports=dict(type="list", elements="raw"),
    stp=dict(type="bool"),
    forward_delay=dict(type="float"),
    hello_time=dict(type="float"),
    max_age=dict(type="float"),
    ageing_time=dict(type="float"),
    priority=dict(type="int"),
    addresses=dict(type="list", elements="str"),
    mtu=dict(type="int"),
    up=dict(type="bool", default=True),
)

PORT_OPTIONS = dict(
    name=dict(type="str", required=True),
    cost=dict(type="int"),
    priority=dict(type="int"),
    hairpin=dict(type="bool"),
)

TAP_OPTIONS = dict(
    name=dict(type="str", required=True),
    netns=dict(type="str"),
    mode=dict(type="str", choices=["tap", "tun"], default="tap"),
    owner=dict(type="str"),
    group=dict(type="str"),
    multi_queue=dict(type="bool"),
    pi=dict(type="bool"),
    vnet_hdr=dict(type="bool"),
    addresses=dict(type="list", elements="str"),
    mtu=dict(type="int"),
    master=dict(type="str"),
    up=dict(type="bool", default=True),
)

ROUTE_OPTIONS = dict(
    dst=dict(type="str", required=True),
    gateway=dict(type="str"),
    dev=dict(type="str"),
    metric=dict(type="int"),
    table=dict(type="str", default="main"),
    netns=dict(type="str"),
)

# Section name -> the options of one entry, in the order the engine builds them.
SECTION_OPTIONS = dict(
    namespaces=NETNS_OPTIONS,
    veths=VETH_OPTIONS,
    bridges=BRIDGE_OPTIONS,
    taps=TAP_OPTIONS,
    routes=ROUTE_OPTIONS,
)


def section_argument_spec() -> dict:
    """The topology module's section options: lists of entries with suboptions."""
    return {section: dict(type="list", elements="dict", default=[], options=options)
            for section, options in SECTION_OPTIONS.items()}


def convert_port(entry: dict) -> dict:
    """A bridge port given as a dict, converted and checked as Ansible does suboptions.

    Returns the given keys with their converted values; raises ValueError with
    Ansible's own words when the entry does not fit PORT_OPTIONS.
    """
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible.module_utils.errors import UnsupportedError

    result = ArgumentSpecValidator(PORT_OPTIONS).validate(dict(entry))
    if result.error_messages:  # the errors object has no truth value of its own
        raise ValueError("; ".join(
            "unsupported parameter %s" % error if isinstance(error, UnsupportedError) else str(error)
            for error in result.errors.errors))
    return {key: value for key, value in result.validated_parameters.items() if value is not None}
