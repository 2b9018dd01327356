#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: netvsc_files
short_description: Write, record and remove the files hyperv.netvsc installs on a host
version_added: 0.1.0
description:
  - Keeps the teardown manifest of the collection (see O(manifest)). Every file the collection
    writes and every directory it makes on a host is recorded there before it is written or
    made. M(hyperv.netvsc.netvsc_pair) and M(hyperv.netvsc.netvsc_failsafe) record their own
    files; this module records the rest and removes everything recorded.
  - With O(state=present) it makes O(directories), writes O(files) (atomically, only when the
    content differs), and records both, as well as the paths of O(record_files) and
    O(record_directories) that other tasks or programs write.
  - A file is recorded only when the collection creates it (it did not exist before) or when it
    is recorded already. A file that was there before and that the collection overwrites (a
    user's file, a file of a version without the manifest) stays the user's; the manifest lists
    it under C(theirs), and teardown keeps it and names it in RV(kept).
  - With O(state=absent) it removes exactly what the manifest records, and nothing else.
    Files first; then each recorded directory that is empty, deepest first (a directory that
    still holds files the collection did not write stays, with the reason in RV(kept)); then the
    manifest itself when nothing was kept. Paths that are gone already are skipped.
  - A recorded path that is no longer what the collection made (a file replaced by a
    directory or a symlink, a directory replaced by a symlink) stays, with the reason.
  - "Fail closed: a manifest that is not a regular file owned by the user running the task and
    writable by it only, that is not a manifest of this collection, or that records a path
    outside O(root), fails the task, and nothing is removed."
author:
  - hyperv.netvsc contributors (@hyperv-netvsc)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: One diff per file written with O(state=present).
  platform:
    platforms: posix
options:
  state:
    description:
      - V(present) writes and records, V(absent) removes what the manifest records.
    type: str
    choices: [present, absent]
    default: present
  manifest:
    description:
      - The teardown manifest, a JSON file of mode C(0600). Its missing directories are made
        and recorded too.
      - The C(hyperv.netvsc.failsafe) role uses C(<netvsc_root_dir>/var/lib/hyperv-netvsc/manifest.json).
    type: path
    default: /var/lib/hyperv-netvsc/manifest.json
  root:
    description:
      - Every path given, made or removed must lie below this directory; O(state=absent)
        refuses a manifest that records anything outside it. For sandboxes.
    type: path
    default: /
  directories:
    description:
      - Directories to make, with their missing parents, mode C(0755) whatever the umask.
        Those made are recorded.
    type: list
    elements: path
    default: []
  files:
    description:
      - Text files to write atomically, each only when its content differs; missing
        directories are made with mode C(0755).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Where to write.
        type: path
        required: true
      content:
        description: The text.
        type: str
        required: true
      mode:
        description: Permissions of the file, an octal string.
        type: str
        default: "0644"
  record_files:
    description:
      - Files that other tasks or programs write for the collection (the monitor archive
        copied by M(ansible.builtin.copy), the files the monitor publishes), recorded and not
        written. Record them before they are written; one that exists already and is not
        recorded is the user's (listed under C(theirs), kept at teardown).
    type: list
    elements: path
    default: []
  record_directories:
    description:
      - Directories that another program makes for the collection (systemd's
        C(RuntimeDirectory=) of the monitor unit), recorded when they do not exist yet (or
        are recorded already), so that one that existed before stays at teardown.
    type: list
    elements: path
    default: []
  paths:
    description:
      - With O(state=absent), remove only what the manifest records at these paths or below
        them (for example the hot-plug monitor's unit, archive and state directory when no
        pairing needs the monitor any more), by the same rules; every other record, and the
        manifest, stay.
    type: list
    elements: path
  system_user:
    description:
      - A system account for the collection's services (the monitor's C(netvsc_monitor_user)).
      - With O(state=present), the group and the user of this name are created when they do
        not exist (C(groupadd --system); C(useradd --system) with that group, no home, no
        login shell), and recorded in the manifest first. An account that exists already
        (V(www-data), V(sshd), one from LDAP) is used as it is, never modified, and the task
        warns that it stays at teardown.
      - With O(state=absent) and O(paths), the group and user of this name are deleted too,
        but only when the manifest records that the collection created them. With O(state=absent)
        and no O(paths), every account the manifest records is deleted.
      - With O(root) other than V(/), no real account is looked up or touched. The accounts
        are those of C(<root>/etc/passwd) and C(<root>/etc/group) (the commands' C(--prefix));
        a sandbox without those files gets none, with a warning.
    type: str
  require_systemd:
    description:
      - Fail unless systemd runs the host (C(/run/systemd/system) exists), before any change.
        For callers that install units to be started.
    type: bool
    default: false
notes:
  - The path checks of M(hyperv.netvsc.netvsc_pair) apply to O(directories) and the file
    paths (absolute, normalised, no C(..)); O(root) may be V(/).
seealso:
  - module: hyperv.netvsc.netvsc_pair
  - module: hyperv.netvsc.netvsc_failsafe
"""

EXAMPLES = r"""
- name: Install a unit file and the directory of an archive, recording both
  hyperv.netvsc.netvsc_files:
    directories: [/usr/local/lib/hyperv-netvsc]
    files:
      - path: /etc/systemd/system/netvsc-monitor.service
        content: "{{ lookup('hyperv.netvsc.monitor_unit') }}"
    record_files: [/usr/local/lib/hyperv-netvsc/netvsc-monitor.pyz]

- name: Remove everything hyperv.netvsc recorded on this host
  hyperv.netvsc.netvsc_files:
    state: absent

- name: Remove the hot-plug monitor only (no pairing reads its files any more)
  hyperv.netvsc.netvsc_files:
    state: absent
    paths: [/etc/systemd/system/netvsc-monitor.service, /usr/local/lib/hyperv-netvsc, /run/netvsc]
"""

RETURN = r"""
files:
  description: With O(state=present), each file of O(files) by path, V(written) or V(unchanged).
  returned: success
  type: dict
  sample:
    /etc/systemd/system/netvsc-monitor.service: written
accounts:
  description: With O(state=present) and O(system_user), the accounts created (would be created, in check mode).
  returned: success
  type: list
  elements: str
  sample: [group netvsc-mon, user netvsc-mon]
removed:
  description:
    - With O(state=absent), the paths removed (would be removed, in check mode), and the
      accounts deleted (V(user NAME), V(group NAME)).
  returned: success
  type: list
  elements: str
  sample: [/etc/netvsc/eal.env, /etc/netvsc]
kept:
  description: With O(state=absent), recorded paths that stay, each with the reason.
  returned: success
  type: dict
  sample:
    /etc/netvsc: "not empty: it holds notes.txt, which the collection did not write"
    /etc/default/dpdk-app: >-
      it was there before the collection first wrote it, so it is not the collection's to
      delete; remove it by hand if it is no longer needed
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ..module_utils import _accounts
from ..module_utils import _manifest
from ..module_utils import _paths
from ..module_utils._plan import Plan, PlanError


def _checked(module, root):
    """The path options, checked by _paths and to lie below root; fail naming every bad one."""
    params = module.params
    named = [("directories[%d]" % i, path) for i, path in enumerate(params["directories"])]
    named += [("files[%d].path" % i, item["path"]) for i, item in enumerate(params["files"])]
    named += [("record_files[%d]" % i, path) for i, path in enumerate(params["record_files"])]
    named += [("record_directories[%d]" % i, path)
              for i, path in enumerate(params["record_directories"])]
    named += [("paths[%d]" % i, path) for i, path in enumerate(params["paths"] or [])]
    named.append(("manifest", params["manifest"]))
    errors = []
    good = {}
    for name, value in named:
        try:
            path = _paths.check(value, name, system_ok=True)
        except _paths.PathError as exc:
            errors.append(str(exc))
            continue
        if not (root == "/" or path.startswith(root + "/")):
            errors.append("%s %s is not below root %s" % (name, path, root))
        good[name] = path
    if errors:
        module.fail_json(msg="; ".join(errors), errors=errors)
    return good


def present(module, root):
    params = module.params
    good = _checked(module, root)
    if params["require_systemd"] and not os.path.isdir("/run/systemd/system"):
        module.fail_json(msg="systemd does not run this host (no /run/systemd/system), so the "
                         "monitor unit cannot be started; set netvsc_manage_services: false to "
                         "run it once instead. Nothing was changed.")
    plan = Plan(module.atomic_move)
    try:
        for i in range(len(params["directories"])):
            plan.make_dirs(good["directories[%d]" % i])
        for i, item in enumerate(params["files"]):
            try:
                mode = int(item["mode"], 8)
            except ValueError:
                module.fail_json(msg="files[%d].mode %r is not an octal mode" % (i, item["mode"]))
            plan.write(good["files[%d].path" % i], item["content"], mode)
    except PlanError as exc:
        module.fail_json(msg="%s; nothing was changed" % exc)
    records, existing = list(plan.creates), list(plan.existing)
    for i in range(len(params["record_files"])):
        path = good["record_files[%d]" % i]
        if os.path.lexists(path):
            existing.append(path)
        else:
            records.append((path, "file"))
    for i in range(len(params["record_directories"])):
        path = good["record_directories[%d]" % i]
        if not os.path.lexists(path):
            records.append((path, "directory"))
    try:
        manifest = _manifest.Manifest.load(good["manifest"])
        recorded = manifest.add(records, existing)
        if not module.check_mode:
            if recorded:
                manifest.save(module.atomic_move)
            plan.apply()
    except _manifest.ManifestError as exc:
        module.fail_json(msg="%s; nothing was changed" % exc)
    except PlanError as exc:
        module.fail_json(msg=str(exc))
    accounts = _account(module, good["manifest"], root)
    module.exit_json(changed=plan.changed or recorded or bool(accounts), files=plan.files,
                     accounts=accounts, **_diff(module, plan))


def _account(module, manifest, root):
    """Create system_user's group and user where missing (recorded first); the ones created."""
    name = module.params["system_user"]
    if not name:
        return []
    try:
        done = _manifest.ensure_account(manifest, name, root, module.check_mode,
                                        module.run_command, module.atomic_move)
    except (_accounts.AccountError, _manifest.ManifestError) as exc:
        module.fail_json(msg="system_user %s: %s" % (name, exc))
    if done.skipped:
        module.warn("system_user %s: %s" % (name, done.skipped))
    for account in done.theirs:
        module.warn("the %s exists already and the collection did not create it: it is used as it "
                    "is (not modified) and stays at teardown" % account)
    return done.added


def _diff(module, plan):
    if module._diff and plan.diffs:
        return {"diff": plan.diffs[0] if len(plan.diffs) == 1 else plan.diffs}
    return {}


def absent(module, root):
    good = _checked(module, root)
    only = None
    if module.params["paths"] is not None:
        only = [good["paths[%d]" % i] for i in range(len(module.params["paths"]))]
    try:
        result = _manifest.teardown(good["manifest"], root, module.check_mode, only,
                                    [module.params["system_user"]] if module.params["system_user"] else [],
                                    module.run_command)
    except _manifest.ManifestError as exc:
        module.fail_json(msg="%s; nothing was removed" % exc)
    module.exit_json(changed=bool(result.removed), removed=result.removed, kept=result.kept)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            manifest=dict(type="path", default=_manifest.DEFAULT_PATH),
            root=dict(type="path", default="/"),
            directories=dict(type="list", elements="path", default=[]),
            files=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                content=dict(type="str", required=True),
                mode=dict(type="str", default="0644"),
            )),
            record_files=dict(type="list", elements="path", default=[]),
            record_directories=dict(type="list", elements="path", default=[]),
            require_systemd=dict(type="bool", default=False),
            system_user=dict(type="str"),
            paths=dict(type="list", elements="path"),
        ),
        supports_check_mode=True,
    )
    try:
        root = _paths.check(module.params["root"], "root", system_ok=True, root_ok=True)
    except _paths.PathError as exc:
        module.fail_json(msg=str(exc))
    if module.params["state"] == "present":
        present(module, root)
    absent(module, root)


if __name__ == "__main__":
    main()
