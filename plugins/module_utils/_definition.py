# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`topology`'s ``definition``: the whole lab as one mapping of the module's own options.

As kubernetes.core.k8s takes a resource as ``definition``, `topology` takes a
lab description (what lab_info returns) as one option value, so that a task
needs no templated arguments (``netvirt.linux.topology: "{{ ... }}"``, which
Ansible warns is unsafe). The mapping is checked and converted with the
module's own argument spec, so an error names its key.
"""

from __future__ import annotations

from typing import Dict, Iterable

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ValidationError

OPTION = "definition"


def merge(params: dict, argument_spec: Dict[str, dict], sections: Iterable[str]) -> dict:
    """The module's parameters with ``definition`` merged in (``definition`` itself dropped).

    Sections come from one place (the module's ``mutually_exclusive`` keeps them apart); a lab option given
    both ways must agree, except that an option at its default yields to the definition.
    """
    definition = params.get(OPTION)
    merged = {key: value for key, value in params.items() if key != OPTION}
    if definition is None:
        _require_name(merged)
        return merged
    spec = {key: dict(entry) for key, entry in argument_spec.items() if key != OPTION}
    for entry in spec.values():
        entry.pop("required", None)  # name may stand beside the definition: checked once merged
    if OPTION in definition:
        raise ValidationError("definition: a definition cannot hold another definition")
    result = ArgumentSpecValidator(spec).validate(dict(definition))
    if result.error_messages:
        problems = [("unsupported key(s) %s" if isinstance(error, UnsupportedError) else "%s") % error.msg
                    for error in result.errors.errors]
        raise ValidationError("definition: %s" % "; ".join(problems), problems=problems)
    validated = result.validated_parameters
    sections = set(sections)
    for key in definition:
        if key in sections:
            merged[key] = validated[key]
            continue
        given, default = params.get(key), argument_spec[key].get("default")
        if given is not None and given != default and given != validated[key]:
            raise ValidationError(
                "%s is %r as an option but %r in definition; give it in one place, or the same in both"
                % (key, given, validated[key]))
        merged[key] = validated[key]
    _require_name(merged)
    return merged


def _require_name(params: dict) -> None:
    if params.get("name") is None:
        raise ValidationError("name is required: give it as an option or as a key of definition")
