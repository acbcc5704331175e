# -*- coding: utf-8 -*-
# Test helper: records every task result to the JSON file named by
# NETVIRT_RECORD, so that pytest can assert on module results.
from __future__ import annotations

DOCUMENTATION = r"""
name: netvirt_record
type: aggregate
short_description: Record task results to a JSON file (tests only)
description:
  - Writes a list of {task, status, result} to the file named by the NETVIRT_RECORD environment variable.
  - With NETVIRT_RECORD_KEYS (comma-separated), only those keys of each result are recorded, since copying a
    large result (a thousand-namespace lab's) costs seconds a user's run does not pay (scripts/bench.py).
"""

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "netvirt_record"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._records = []

    def _record(self, result, status):
        self._records.append({
            "task": result.task_name if hasattr(result, "task_name") else result._task.get_name(),
            "host": result._host.get_name() if hasattr(result, "_host") else None,
            "status": status,
            "result": self._clean(self._selected(result._result)),
        })

    @staticmethod
    def _selected(value):
        keys = os.environ.get("NETVIRT_RECORD_KEYS")
        if not keys:
            return value
        return {key: value[key] for key in keys.split(",") if key in value}

    @staticmethod
    def _clean(value):
        return json.loads(json.dumps(value, default=str))

    def v2_runner_on_ok(self, result, **kwargs):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False, **kwargs):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result, **kwargs):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result, **kwargs):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("NETVIRT_RECORD")
        if path:
            with open(path, "w") as handle:
                json.dump(self._records, handle)
