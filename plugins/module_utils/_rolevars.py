# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The variables of the hyperv.netvsc.failsafe role, checked and turned into module options.

Runs on the controller (action plugin ``netvsc_role_vars``), before anything reaches a host,
so that what people paste is accepted or refused with a clear error, never misread:

* ``netvsc_interfaces`` may be a list, or a string of names, MACs or GUIDs separated by
  commas or spaces (``"eth1, eth2"``); items are strings or dicts whose keys are checked
  (``name`` or ``netvsc``, ``id``, ``driver``, ``force``, ``allow_management``,
  ``require_vf``; booleans as YAML or as strings such as ``"yes"``). An empty list means
  automatic selection, so it is never the result of a misspelt or mistyped variable:
* an unknown ``netvsc_*`` variable close to a role variable (``netvsc_interface``) is an
  error that names the variable it resembles; other ``netvsc_*`` variables belong to
  something else and are left alone.
* every path variable goes through ``_paths`` and is placed below ``netvsc_root_dir``.

Stdlib only, Python >= 3.8.
"""

from __future__ import annotations

import difflib
import os
import re
from typing import Dict

from . import _monitor_unit, _paths
from ._units import UnitError, check_unit

DRIVERS = ("hv_netvsc", "uio_hv_generic", "auto")
# netvsc_pair's driver for the pairings of each netvsc_mode (items may name another).
MODE_DRIVERS = {"netvsc_pmd": "uio_hv_generic", "auto": "auto"}
ITEM_KEYS = ("name", "netvsc", "id", "driver", "force", "allow_management", "require_vf")
# netvsc_* variables of the collection's playbooks (site.yml, teardown.yml, report.yml):
# not role variables, and not typos of them.
PLAYBOOK_VARS = frozenset(("netvsc_target", "netvsc_serial", "netvsc_max_fail_percentage",
                           "netvsc_become"))
PLAYBOOK_PREFIXES = ("netvsc_report_",)
TYPO_CUTOFF = 0.85
_TRUE = ("true", "yes", "on", "1", "y", "t")
_FALSE = ("false", "no", "off", "0", "n", "f")
_SEPARATORS = re.compile(r"[\s,]+")

# Path variables: (name, what may it be) — "owned": a directory of the collection's own,
# never / or a system directory on its own; "system": a path the collection only reads or
# names (it may be a system path); "file": a file (an empty value means none).
PATH_VARS = (("netvsc_root_dir", "root"), ("netvsc_sysfs_root", "system"),
             ("netvsc_config_dir", "owned"), ("netvsc_state_dir", "owned"),
             ("netvsc_eal_dir", "owned"), ("netvsc_monitor_lib_dir", "owned"),
             ("netvsc_monitor_python", "system"), ("netvsc_monitor_textfile", "file"),
             ("netvsc_readiness_root", "root"))


class RoleVarsError(Exception):
    """Variables that cannot be used; str() lists every problem."""

    def __init__(self, errors):
        super().__init__("; ".join(errors))
        self.errors = list(errors)


def typos(names, known):
    """Errors for names of netvsc_* variables that are not known but resemble a known one."""
    errors = []
    for name in sorted(names):
        if (not name.startswith("netvsc_") or name in known or name in PLAYBOOK_VARS
                or name.startswith(PLAYBOOK_PREFIXES)):
            continue
        close = difflib.get_close_matches(name, sorted(known), 1, TYPO_CUTOFF)
        if close:
            errors.append("%s is not a variable of the hyperv.netvsc.failsafe role; did you mean "
                          "%s? (a misspelt variable would leave the role on its default)"
                          % (name, close[0]))
    return errors


def boolean(value, where):
    if isinstance(value, bool):
        return value
    if isinstance(value, (str, int)) and str(value).strip().lower() in _TRUE + _FALSE:
        return str(value).strip().lower() in _TRUE
    raise ValueError("%s must be true or false, not %r" % (where, value))


def words(value, name):
    """A list from a list, or from a string of words separated by commas or spaces."""
    if value is None:
        return []
    if isinstance(value, str):
        return [word for word in _SEPARATORS.split(value) if word]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ValueError("%s must be a list (or a string of words separated by commas), not %r"
                     % (name, value))


def _item(value, where):
    """One netvsc_pair pairing from an item of netvsc_interfaces."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("%s is an empty string" % where)
        return {"netvsc": value.strip()}
    if not isinstance(value, dict):
        raise ValueError("%s must be a NetVSC name, MAC or VMBus GUID, or a dict, not %r" % (where, value))
    unknown = sorted(str(key) for key in value if key not in ITEM_KEYS)
    if unknown:
        raise ValueError("%s has unknown keys %s; an item may have %s" % (
            where, ", ".join(unknown), ", ".join(ITEM_KEYS)))
    names = [value[key] for key in ("name", "netvsc") if key in value]
    if len(names) != 1 or not isinstance(names[0], str) or not names[0].strip():
        raise ValueError("%s needs the NetVSC as name (a netdev name, MAC or VMBus GUID)" % where)
    item = {"netvsc": names[0].strip()}
    if value.get("id") is not None:
        item["id"] = str(value["id"])
    if value.get("driver") is not None:
        if value["driver"] not in DRIVERS:
            raise ValueError("%s: driver must be one of %s, not %r" % (where, ", ".join(DRIVERS), value["driver"]))
        item["driver"] = value["driver"]
    for key in ("force", "allow_management", "require_vf"):
        if value.get(key) is not None:
            item[key] = boolean(value[key], "%s: %s" % (where, key))
    return item


def pairings(value):
    """The netvsc_pair pairings of netvsc_interfaces (raise ValueError naming the item)."""
    return [_item(item, "netvsc_interfaces item %d" % number)
            for number, item in enumerate(words(value, "netvsc_interfaces"), 1)]


def _check_paths(variables, errors):
    paths = {}
    for name, kind in PATH_VARS:
        value = variables.get(name)
        if kind == "file" and value in (None, ""):
            paths[name] = ""
            continue
        try:
            paths[name] = _paths.check(value, name, system_ok=kind in ("system", "file"),
                                       root_ok=kind == "root")
        except _paths.PathError as exc:
            errors.append(str(exc))
    return paths


# Under DynamicUser the transient user can write only its state dir, which systemd keeps
# below /run/private (0700, root): node_exporter cannot read a textfile there, and any other
# directory is not writable by that user.
TEXTFILE_NEEDS_USER = (
    "netvsc_monitor_textfile %s: without netvsc_monitor_user the monitor runs as a systemd "
    "DynamicUser, so node_exporter cannot read the metrics (they stay below /run/private, "
    "which only root can enter) or the monitor cannot write them at all; set "
    "netvsc_monitor_user to a static system user (docs/monitor.md, Metrics)")


def check(variables: Dict[str, object], known, constants: Dict[str, str]) -> Dict[str, object]:
    """The module options the role passes on, from its variables; RoleVarsError lists every
    problem. known: the role's variable names; constants: its fixed paths (unit, udev rules
    and networkd directories, manifest) and the monitor archive's file name."""
    errors = typos([name for name in variables if isinstance(name, str)], known)
    result = {}
    try:
        result["pairings"] = pairings(variables.get("netvsc_interfaces"))
    except ValueError as exc:
        errors.append(str(exc))
    try:
        result["dpdk_units"] = [check_unit(unit) for unit in words(variables.get("netvsc_dpdk_units"),
                                                                   "netvsc_dpdk_units")]
    except UnitError as exc:
        errors.append("netvsc_dpdk_units: %s" % exc)
    except ValueError as exc:
        errors.append(str(exc))
    paths = _check_paths(variables, errors)
    try:  # every variable that reaches the unit, checked again for the unit's syntax
        unit_variables = dict((name, variables.get(name)) for name in _monitor_unit.DEFAULTS)
        result["monitor_unit"] = _monitor_unit.render(unit_variables)
        result["monitor_once"] = _monitor_unit.once_argv(unit_variables)
    except _monitor_unit.UnitError as exc:
        errors.extend(error for error in exc.errors if error not in errors)
    managed = variables.get("netvsc_manage_services")
    try:
        managed = boolean(managed, "netvsc_manage_services")
    except ValueError as exc:
        errors.append(str(exc))
    if managed is True and not errors:
        if paths["netvsc_root_dir"] != "/":
            errors.append("with netvsc_manage_services true, systemd must see the files, so "
                          "netvsc_root_dir must be / (it is %s); set netvsc_manage_services: "
                          "false for a sandbox" % paths["netvsc_root_dir"])
        if not re.match(r"^/run/[^/]+$", paths["netvsc_state_dir"]):
            errors.append("with netvsc_manage_services true, netvsc_state_dir must be /run/<name> "
                          "(systemd creates it), not %s" % paths["netvsc_state_dir"])
    if errors:
        raise RoleVarsError(errors)
    if not result["pairings"]:  # netvsc_pair takes either, never both
        del result["pairings"]
        result["auto"] = True
    result.update(managed=managed,
                  paths=_placed(paths, constants),
                  driver=MODE_DRIVERS.get(variables.get("netvsc_mode"), "hv_netvsc"))
    result.update(_footprint(result["paths"], paths, managed, bool(variables.get("netvsc_monitor_user"))))
    if managed and paths["netvsc_monitor_textfile"] and not variables.get("netvsc_monitor_user"):
        result["warnings"] = [TEXTFILE_NEEDS_USER % paths["netvsc_monitor_textfile"]]
    return result


def _placed(paths, constants):
    root = paths["netvsc_root_dir"]

    def place(path):
        return _paths.place(root, path) if path else ""

    lib_dir = place(paths["netvsc_monitor_lib_dir"])
    eal_dir = place(paths["netvsc_eal_dir"])
    return {
        "root": root,
        "sysfs_root": paths["netvsc_sysfs_root"],  # read only, never placed
        "config_dir": place(paths["netvsc_config_dir"]),
        "state_dir": place(paths["netvsc_state_dir"]),
        "eal_dir": eal_dir,
        "eal_env": eal_dir + "/eal.env",
        "eal_args_dir": eal_dir + "/eal.d",
        "port_map": eal_dir + "/ports.map",
        "lib_dir": lib_dir,
        "monitor": lib_dir + "/" + constants["monitor_archive"],
        "textfile": place(paths["netvsc_monitor_textfile"]),
        "unit": place(constants["unit_path"]),
        "units_dir": place(os.path.dirname(constants["unit_path"])),
        "readiness_root": paths["netvsc_readiness_root"],  # read only, never placed
        "udev_rules_dir": place(constants["udev_rules_dir"]),
        "network_dir": place(constants["network_dir"]),
        "manifest": place(constants["manifest"]),
    }


def _footprint(placed, paths, managed, static_user):
    """What netvsc_files makes and records besides what the modules record themselves, and
    the monitor's paths (monitor_paths: what goes when no pairing needs the monitor)."""
    state_dir = placed["state_dir"]
    record_files = [placed["monitor"], state_dir + "/state.json"]
    if placed["textfile"]:
        record_files.append(placed["textfile"])
    directories = [placed["lib_dir"]]
    record_directories = []
    if managed:
        # systemd makes the monitor's RuntimeDirectory; with DynamicUser it lives in
        # /run/private/<name> and /run/<name> links to it.
        record_directories.append(state_dir)
        if not static_user:
            record_directories.append("/run/private/" + paths["netvsc_state_dir"][len("/run/"):])
    else:
        directories.append(state_dir)
    monitor_paths = [placed["unit"], placed["lib_dir"]] + record_directories + (
        [] if managed else [state_dir]) + ([placed["textfile"]] if placed["textfile"] else [])
    return {"directories": directories, "record_files": record_files,
            "record_directories": record_directories, "monitor_paths": monitor_paths}
