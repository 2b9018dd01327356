# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hot-plug monitor: publishes, per declared pairing, the VF that fail-safe's exec() should use.

Kernel uevents (net and pci add/remove/move) trigger a rescan of sysfs; the result is published
atomically in <state_dir>/<id>.vf (one line, or an empty file while no VF is paired: fail-safe
re-runs exec() only for an undefined sub-device, so a stale address would strand it), plus
state.json and an optional Prometheus textfile. Lost events are covered by a resync after
ENOBUFS and a slow periodic resync; there are no other wake-ups.

Fail closed: an invalid declaration is skipped (log, metric, state.json) while the others keep
working; whatever goes wrong while deciding a pairing publishes no VF for it; an unexpected
error is contained and logged in one line; the old addresses are withdrawn before the first
scan and when the monitor stops or fails (``--clear`` for ExecStopPost=). The state directory
is trusted only like sshd's StrictModes (_trust).

Run as ``python3 -m <package>._monitor``; see docs/monitor.md. Stdlib only, Python >= 3.8.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import select
import signal
import socket
import stat
import sys
import tempfile
import time
import traceback

from . import _trust
from ._atomic import write_atomic
from ._declarations import DEFAULT_CONFIG_DIR, ID_RE, known_macs, load_each
from ._devargs import DevargsError, vf_device_arg
from ._identity import Conflict, designated
from ._scan import scan

NETLINK_KOBJECT_UEVENT = 15
UEVENT_GROUP_KERNEL = 1
RESCAN_SUBSYSTEMS = frozenset(("net", "pci"))
RESCAN_ACTIONS = frozenset(("add", "remove", "move"))
DEFAULT_STATE_DIR = "/run/netvsc"
DEFAULT_RESYNC = 60.0
# A VF hot-add is a burst (pci add, bind, net add, queues, rename); one rescan after a short
# quiet period sees its end state. The cap keeps a never-ending storm from starving publication.
QUIET_SECONDS = 0.005
BURST_LIMIT_SECONDS = 0.1
STATE_FORMAT = 1
VF_MAX_BYTES = 256  # "dddd:bb:dd.f,mac=xx:xx:xx:xx:xx:xx\n" is 37
STATE_MAX_BYTES = 4 << 20  # state.json of thousands of pairings


class MonitorError(Exception):
    """A condition the monitor cannot run with (e.g. an unwritable state directory)."""


# --------------------------------------------------------------------------------------------
# Logging: one line per message on stderr; journald reads "<N>" as the syslog priority.

LEVELS = {"err": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7}


class Log:
    def __init__(self, verbose=False, stream=None, journal=None):
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stderr
        self.journal = bool(os.environ.get("JOURNAL_STREAM")) if journal is None else journal

    def __call__(self, level, message, *args):
        if level == "debug" and not self.verbose:
            return
        text = message % args if args else message
        if self.journal:
            line = "<%d>%s\n" % (LEVELS[level], text)
        else:
            line = "netvsc-monitor %s: %s\n" % (level, text)
        try:
            self.stream.write(line)
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed stderr must not kill the monitor


# --------------------------------------------------------------------------------------------
# systemd notification protocol (sd_notify(3)), stdlib only.

def sd_notify(message, environ=None):
    """Send message to $NOTIFY_SOCKET; return False when not running under systemd."""
    environ = os.environ if environ is None else environ
    address = environ.get("NOTIFY_SOCKET")
    if not address or address[0] not in "/@":
        return False
    if address[0] == "@":
        address = "\0" + address[1:]  # abstract namespace
    # Non-blocking: a manager that does not read its socket must never stall the monitor
    # (a full queue drops the message, like a lost datagram).
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
    try:
        sock.connect(address)
        sock.send(message.encode("utf-8"))
    except OSError:
        return False
    finally:
        sock.close()
    return True


def watchdog_interval(environ=None):
    """Seconds between WATCHDOG=1 pings (half of WATCHDOG_USEC), or None when not requested."""
    environ = os.environ if environ is None else environ
    pid = environ.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2e6 if usec > 0 else None


# --------------------------------------------------------------------------------------------
# Kernel uevents.

def parse_uevent(data):
    """Parse a kernel uevent datagram into a dict; None for udev's re-broadcasts or junk.

    Format: b"ACTION@DEVPATH\\0KEY=VALUE\\0...". udev's own messages start with b"libudev\\0"
    (and are only sent to group 2, but a misconfigured sender must not confuse us).
    """
    if data.startswith(b"libudev\0"):
        return None
    fields = data.split(b"\0")
    header = fields[0].decode("utf-8", "replace")
    if "@" not in header:
        return None
    event = {}
    for field in fields[1:]:
        key, sep, value = field.partition(b"=")
        if sep:
            event[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    action, _sep, devpath = header.partition("@")
    event.setdefault("ACTION", action)
    event.setdefault("DEVPATH", devpath)
    return event


def wants_rescan(event):
    """True for the events that can change a pairing: net and pci add/remove/move."""
    return (event is not None and event.get("SUBSYSTEM") in RESCAN_SUBSYSTEMS
            and event.get("ACTION") in RESCAN_ACTIONS)


class UeventSocket:
    """Non-blocking NETLINK_KOBJECT_UEVENT listener (or any datagram socket, for tests)."""

    RCVBUF = 4 << 20

    def __init__(self, sock=None):
        if sock is None:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC,
                                 NETLINK_KOBJECT_UEVENT)
            self._grow_buffer(sock)
            sock.bind((0, UEVENT_GROUP_KERNEL))
        sock.setblocking(False)
        self.sock = sock

    def _grow_buffer(self, sock):
        # A bigger buffer makes ENOBUFS rarer; FORCE needs CAP_NET_ADMIN, which the unit drops.
        for option in (getattr(socket, "SO_RCVBUFFORCE", 33), socket.SO_RCVBUF):
            try:
                sock.setsockopt(socket.SOL_SOCKET, option, self.RCVBUF)
                return
            except OSError:
                continue

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        self.sock.close()

    def drain(self):
        """Read every queued datagram; return (events, overflowed)."""
        events, overflowed = [], False
        while True:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return events, overflowed
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:
                    raise
                overflowed = True  # the kernel dropped events: the caller must resync
                continue
            event = parse_uevent(data)
            if event is not None:
                events.append(event)

    def collect_burst(self, quiet=QUIET_SECONDS, limit=BURST_LIMIT_SECONDS, clock=time.monotonic):
        """Drain until the socket has been quiet for `quiet` s (at most `limit` s in all).

        Returns (relevant events, overflowed, total events read).
        """
        deadline = clock() + limit
        relevant, overflowed, total = [], False, 0
        while True:
            events, lost = self.drain()
            total += len(events)
            overflowed = overflowed or lost
            relevant.extend(event for event in events if wants_rescan(event))
            remaining = deadline - clock()
            if remaining <= 0:
                break
            readable = select.select([self.sock], [], [], min(quiet, remaining))[0]
            if not readable:
                break
        return relevant, overflowed, total


# --------------------------------------------------------------------------------------------
# Publication.

def _escape_label(value):
    return str(value).replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")


def render_textfile(pairs, counters, last_event):
    """Prometheus text exposition format for node_exporter's textfile collector."""
    lines = []

    def family(name, kind, help_text, samples):
        lines.append("# HELP %s %s" % (name, help_text))
        lines.append("# TYPE %s %s" % (name, kind))
        for labels, value in samples:
            lines.append("%s%s %s" % (name, labels, value))

    def labels(pair_id, pair):
        return '{pair="%s",netvsc="%s"}' % (_escape_label(pair_id), _escape_label(pair["netvsc"] or ""))

    ordered = sorted(pairs.items())
    family("netvsc_vf_present", "gauge", "1 while a VF is published for the pairing, else 0.",
           [(labels(i, p), 1 if p["vf"] else 0) for i, p in ordered])
    family("netvsc_vf_changes_total", "counter",
           "Published VF arrivals, departures and address changes (a restart withdraws and republishes).",
           [(labels(i, p), p["changes"]) for i, p in ordered])
    family("netvsc_pair_conflicting", "gauge",
           "1 while the pairing's MAC and VMBus GUID designate two NetVSCs (no VF is published).",
           [(labels(i, p), 1 if p["status"] == "conflicting" else 0) for i, p in ordered])
    family("netvsc_monitor_invalid_declarations", "gauge",
           "Declaration files skipped as invalid at the last (re)load (state.json names them).",
           [("", counters["declaration_errors"])])
    family("netvsc_monitor_errors_total", "counter",
           "Unexpected errors contained (their pairings published no VF) and failed publications.",
           [("", counters["errors"] + counters["publish_errors"])])
    family("netvsc_monitor_last_event_timestamp_seconds", "gauge",
           "Unix time of the last kernel uevent that caused a rescan (0: none yet).",
           [("", "%.3f" % last_event)])
    family("netvsc_monitor_resyncs_total", "counter",
           "Full rescans not caused by an event (start, periodic, after lost events, reload).",
           [("", counters["resyncs"])])
    return "\n".join(lines) + "\n"


class Publisher:
    """Writes <id>.vf, state.json and the optional textfile, each atomically, in a trusted dir.

    ``seen`` holds the .vf content consumers could read before this process changed it, so
    that what is reported as changed survives the withdrawal at start.
    """

    def __init__(self, state_dir, textfile=None):
        self.state_dir = state_dir
        self.textfile = textfile
        self.seen = {}
        self.ready = False  # prepare() passed: the directory may be written

    def prepare(self, create=True):
        """Refuse an untrusted state directory and fail on an unwritable one, before any write.

        Like sshd's StrictModes: it must be owned by the monitor's user or root and writable
        by nobody else. Then temporary files of a writer that was killed are removed.
        """
        if create:
            try:
                os.makedirs(self.state_dir, 0o755, exist_ok=True)
            except OSError as exc:
                raise MonitorError("cannot create state directory %s: %s" % (self.state_dir, exc.strerror))
        try:
            _trust.check_dir(self.state_dir)
        except _trust.UntrustedError as exc:
            raise MonitorError("refusing the state directory: %s" % exc)
        for directory in [self.state_dir] + ([self._textfile_dir()] if self.textfile else []):
            try:
                fd, probe = tempfile.mkstemp(prefix=".probe.", dir=directory)
                os.close(fd)
                os.unlink(probe)
            except OSError as exc:
                raise MonitorError("directory %s is not writable: %s" % (directory, exc.strerror))
        self._remove_leftovers()
        self.ready = True

    def _textfile_dir(self):
        return os.path.dirname(os.path.abspath(self.textfile))

    def _remove_leftovers(self):
        # Temporary files of a writer killed between mkstemp and rename (SIGKILL, power loss):
        # write_atomic's ".<target>.<random>" and prepare's ".probe.<random>".
        def ours_in_state_dir(name):
            return name.startswith((".probe.", ".state.json.")) or (name.startswith(".") and ".vf." in name)
        places = [(self.state_dir, ours_in_state_dir)]
        if self.textfile:
            prefixes = (".probe.", ".%s." % os.path.basename(self.textfile))
            places.append((self._textfile_dir(), lambda name: name.startswith(prefixes)))
        for directory, ours in places:
            for name in os.listdir(directory):
                path = os.path.join(directory, name)
                if ours(name) and stat.S_ISREG(os.lstat(path).st_mode):
                    try:
                        os.unlink(path)
                    except OSError:
                        pass

    def vf_path(self, pair_id):
        return os.path.join(self.state_dir, pair_id + ".vf")

    def vf_ids(self):
        """Ids of the <id>.vf entries in the state directory."""
        ids = []
        for name in os.listdir(self.state_dir):
            pair_id, ext = os.path.splitext(name)
            if ext == ".vf" and ID_RE.fullmatch(pair_id):
                ids.append(pair_id)
        return sorted(ids)

    def _read_vf(self, pair_id):
        try:
            return _trust.read(self.vf_path(pair_id), VF_MAX_BYTES).decode("ascii")
        except (OSError, _trust.UntrustedError, ValueError):
            return None

    def withdraw_all(self):
        """Empty every <id>.vf, remembering what consumers could read (start, before a scan)."""
        before = dict((pair_id, self._read_vf(pair_id)) for pair_id in self.vf_ids())
        errors = self.publish_pairs(dict.fromkeys(before))[1]
        self.seen.update(before)
        return errors

    def publish_pairs(self, args):
        """Write <id>.vf for each {id: VF argument or None}; return (changed ids, errors).

        A .vf that cannot be written is removed: a missing file reads as no VF (cat fails,
        fail-safe retries), while the old content could be a stale address.
        """
        changed, errors = [], []
        for pair_id, arg in sorted(args.items()):
            content, path = (arg + "\n" if arg else ""), self.vf_path(pair_id)
            try:
                write_atomic(path, content)
            except OSError as exc:
                errors.append("cannot write %s: %s" % (path, exc.strerror or exc))
                content = None
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                except OSError as unlink_exc:
                    errors.append("cannot remove %s: %s" % (path, unlink_exc.strerror or unlink_exc))
                    content = "unknown"
            if self.seen.get(pair_id, "absent") != content:
                changed.append(pair_id)
            self.seen[pair_id] = content
        return changed, errors

    def publish_state(self, pairs, counters, last_event, invalid):
        state = {"format": STATE_FORMAT, "pairs": pairs, "counters": counters,
                 "invalid_declarations": invalid, "updated_at": round(time.time(), 3)}
        write_atomic(os.path.join(self.state_dir, "state.json"),
                     json.dumps(state, indent=2, sort_keys=True) + "\n")
        if self.textfile:
            write_atomic(self.textfile, render_textfile(pairs, counters, last_event))

    def remove_stale(self, keep_ids):
        """Delete <id>.vf files whose id is not in keep_ids; return the removed ids."""
        removed = []
        for pair_id in self.vf_ids():
            if pair_id not in keep_ids:
                try:
                    os.unlink(self.vf_path(pair_id))
                    removed.append(pair_id)
                except FileNotFoundError:
                    pass
                self.seen.pop(pair_id, None)
        return removed

    def previous_pairs(self):
        """Pairs of the last state.json, or {} (with the reason when it could not be used)."""
        path = os.path.join(self.state_dir, "state.json")
        try:
            pairs = json.loads(_trust.read(path, STATE_MAX_BYTES).decode("utf-8")).get("pairs", {})
        except FileNotFoundError:
            return {}, None
        except _trust.UntrustedError as exc:
            return {}, str(exc)
        except (OSError, ValueError, RecursionError, AttributeError) as exc:
            return {}, "%s: %s" % (path, exc)
        if not isinstance(pairs, dict):
            return {}, "%s: pairs is not an object" % path
        return dict((pair_id, pair) for pair_id, pair in pairs.items()
                    if ID_RE.fullmatch(pair_id) and isinstance(pair, dict)), None


# --------------------------------------------------------------------------------------------
# Deciding a pairing.

def decide(declaration, snapshot):
    """(status, netvsc name, VF device argument or None, VF record or None, detail).

    status: "ok" (VF published), "no_vf", "no_netvsc" (not present), "conflicting" (its MAC
    and GUID designate two NetVSCs), "unpublishable" (a VF fail-safe could not parse).
    """
    last_seen = declaration["netvsc"]["name"]
    try:
        _key, iface = designated(declaration, snapshot.interfaces)
    except Conflict as exc:
        # Never another NIC's VF: the pairing stays empty until its declaration is fixed.
        return "conflicting", last_seen, None, None, str(exc)
    if iface is None:
        return "no_netvsc", last_seen, None, None, None
    vf = iface["vf"]
    if vf is None:
        return "no_vf", iface["name"], None, None, None
    try:
        return "ok", iface["name"], vf_device_arg(vf), vf, None
    except DevargsError as exc:
        # Never publish what fail-safe could not parse: an empty file keeps exec() retrying.
        return "unpublishable", iface["name"], None, None, "VF %s not published: %s" % (vf.get("name"), exc)


def _where(exc):
    """file:line where an exception was raised, for a one-line log without a traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    return "%s:%d" % (os.path.basename(frames[-1].filename), frames[-1].lineno) if frames else "?"


class Monitor:
    def __init__(self, sysfs_root, config_dir, publisher, log, resync_interval=DEFAULT_RESYNC,
                 uevents=None, environ=None, clock=time.monotonic):
        self.sysfs_root = sysfs_root
        self.config_dir = config_dir
        self.publisher = publisher
        self.log = log
        self.resync_interval = resync_interval
        self.uevents = uevents
        self.environ = os.environ if environ is None else environ
        self.clock = clock
        self.declarations = []
        self.invalid = {}  # {file: why} of the declarations skipped at the last load
        self.withheld = set()  # ids of invalid files: their .vf stays, empty
        self.pairs = {}
        self.counters = {"uevents": 0, "rescans": 0, "resyncs": 0, "overflows": 0,
                         "publish_errors": 0, "declaration_errors": 0, "errors": 0}
        self.last_event = 0.0
        self.stop = False
        self.reload = False
        self._wakeup = None
        self._previous = {}
        self._status_sent = None
        self.published = []  # ids whose .vf changed at the last publication
        self.removed = []  # ids whose .vf was removed at the last declaration load

    # -- declarations ---------------------------------------------------------------------

    def load_declarations(self):
        declarations, self.invalid = [], {}
        for path, declaration, error in load_each(self.config_dir):
            if error is None:
                declarations.append(declaration)
            else:
                self.log("err", "skipping declaration %s", error)
                self.invalid[path] = error
        self.counters["declaration_errors"] = len(self.invalid)
        self.declarations = declarations
        declared = set(d["id"] for d in declarations)
        stems = (os.path.basename(path)[:-len(".json")] for path in self.invalid if path.endswith(".json"))
        self.withheld = set(stem for stem in stems if ID_RE.fullmatch(stem)) - declared
        for pair_id in list(self.pairs):
            if pair_id not in declared:
                del self.pairs[pair_id]
        self.removed = self.publisher.remove_stale(declared | self.withheld)
        for pair_id in self.removed:
            self.log("info", "%s: no longer declared, removed its .vf file", pair_id)
        if not declarations:
            self.log("warning", "no valid pairing declarations in %s", self.config_dir)

    # -- scanning and publication ---------------------------------------------------------

    def contain(self, what, exc):
        """Log an unexpected error in one line (no traceback) and count it."""
        self.counters["errors"] += 1
        self.log("err", "unexpected error %s: %s: %s (at %s); publishing no VF for it",
                 what, type(exc).__name__, exc, _where(exc))

    def rescan(self, reason, resync=False):
        """Scan sysfs, decide each pairing, publish. Never raises: what fails publishes no VF."""
        self.counters["rescans"] += 1
        if resync:
            self.counters["resyncs"] += 1
        self.log("debug", "rescan (%s)", reason)
        try:
            snapshot = scan(self.sysfs_root, known_macs=known_macs(self.declarations),
                            with_addresses=False)
        except Exception as exc:
            self.contain("while scanning %s" % self.sysfs_root, exc)
            snapshot = None
        now = round(time.time(), 3)
        for declaration in self.declarations:
            try:
                decision = ("error", declaration["netvsc"]["name"], None, None, None)
                if snapshot is not None:
                    decision = decide(declaration, snapshot)
            except Exception as exc:
                self.contain("while deciding pairing %s" % declaration["id"], exc)
                decision = ("error", declaration["netvsc"]["name"], None, None, "unexpected %s" % type(exc).__name__)
            self._update_pair(declaration, now, *decision)
        return self.publish()

    def publish(self):
        """Publish every pairing's .vf, state.json and metrics; False if something failed."""
        args = dict.fromkeys(self.withheld)
        args.update((pair_id, pair["vf"]) for pair_id, pair in self.pairs.items())
        self.published, errors = self.publisher.publish_pairs(args)
        try:
            self.publisher.publish_state(self.pairs, self.counters, self.last_event, self.invalid)
        except OSError as exc:
            errors.append("cannot write state.json or metrics: %s" % (exc.strerror or exc))
        for error in errors:
            # Keep running: the next event or resync rewrites everything.
            self.counters["publish_errors"] += 1
            self.log("err", "%s", error)
        return not errors

    def _update_pair(self, declaration, now, status, netvsc, arg, vf, detail):
        pair_id = declaration["id"]
        pair = self.pairs.get(pair_id)
        if pair is None:  # first sight since start: carry history from the last state.json
            pair = carried(self._previous.get(pair_id), now)
            self.pairs[pair_id] = pair
        if status != pair["status"] and detail:
            self.log("err" if status in ("conflicting", "error", "unpublishable") else "info",
                     "%s: %s", pair_id, detail)
        if arg != pair["vf"]:
            self._log_change(pair_id, netvsc, pair, arg, vf)
            pair["changes"] += 1
            pair["changed_at"] = now
        ident = declaration["netvsc"]
        pair.update(netvsc=netvsc, mac=ident["mac"], vmbus_id=ident["vmbus_id"], vf=arg,
                    vf_name=vf["name"] if vf else None, kind=vf["kind"] if vf else None,
                    status=status)

    def _log_change(self, pair_id, netvsc, pair, arg, vf):
        who = "%s (%s)" % (pair_id, netvsc or "NetVSC absent")
        if pair["vf"] is None:
            self.log("info", "%s: VF %s arrived at %s", who, vf["name"], arg)
        elif arg is None:
            self.log("notice", "%s: VF %s departed from %s", who, pair["vf_name"], pair["vf"])
        else:
            self.log("info", "%s: VF %s moved from %s to %s", who, vf["name"], pair["vf"], arg)

    def withdraw(self, status="stopped"):
        """Publish no VF for any pairing: no address outlives the process that vouched for it."""
        for pair in self.pairs.values():
            if pair["vf"] is not None:
                pair["changes"] += 1
                pair["changed_at"] = round(time.time(), 3)
            pair.update(vf=None, vf_name=None, kind=None, status=status)
        self.withheld |= set(self.publisher.vf_ids()) - set(self.pairs)
        return self.publish()

    def status(self):
        def count(number, what):
            return "%d %s%s" % (number, what, "" if number == 1 else "s")
        with_vf = sum(1 for pair in self.pairs.values() if pair["vf"])
        text = "%s, %d with VF" % (count(len(self.pairs), "pair"), with_vf)
        return text + (", " + count(len(self.invalid), "invalid declaration") if self.invalid else "")

    def notify(self, *lines):
        sd_notify("\n".join(lines), self.environ)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self):
        """Withdraw what an earlier process published, then publish a full scan.

        Signal handlers come first (a SIGTERM during start ends the loop at once), and the
        old addresses are gone before the first scan, which might fail.
        """
        if self.uevents is not None:
            self._install_signals()
        self.publisher.prepare()
        self._previous, problem = self.publisher.previous_pairs()
        if problem:
            self.log("warning", "not carrying history from state.json: %s", problem)
        for error in self.publisher.withdraw_all():
            self.counters["publish_errors"] += 1
            self.log("err", "%s", error)
        self.load_declarations()
        if not self.rescan("start", resync=True):
            raise MonitorError("cannot publish the initial state to %s" % self.publisher.state_dir)
        self.log("info", "started: %s", self.status())

    def _install_signals(self):
        # The handlers only set flags; the wakeup fd makes select() return at once.
        read_fd, write_fd = os.pipe()
        for fd in (read_fd, write_fd):
            os.set_blocking(fd, False)
            os.set_inheritable(fd, False)
        signal.set_wakeup_fd(write_fd)
        self._wakeup = (read_fd, write_fd)

        def on_term(_signum, _frame):
            self.stop = True

        def on_hup(_signum, _frame):
            self.reload = True
        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        signal.signal(signal.SIGHUP, on_hup)

    def _drain_wakeup(self):
        try:
            while os.read(self._wakeup[0], 512):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def _handle_uevents(self):
        relevant, overflowed, total = self.uevents.collect_burst()
        self.counters["uevents"] += total
        if overflowed:
            self.counters["overflows"] += 1
            self.log("warning", "uevent buffer overflowed (ENOBUFS): resyncing")
            self.rescan("events lost", resync=True)
            return True
        if relevant:
            self.last_event = time.time()
            first = relevant[0]
            self.log("debug", "uevent burst: %d relevant of %d, first %s %s %s", len(relevant),
                     total, first.get("ACTION"), first.get("SUBSYSTEM"), first.get("DEVPATH"))
            self.rescan("uevent")
            return True
        return False

    def _reload(self):
        self.log("info", "SIGHUP: re-reading declarations from %s", self.config_dir)
        self.notify("RELOADING=1")
        self.load_declarations()
        self.rescan("reload", resync=True)
        self.notify("READY=1")

    def loop(self):
        """Wait for uevents, signals and deadlines; nothing else wakes the process."""
        self._status_sent = self.status()
        self.notify("READY=1", "STATUS=" + self._status_sent)
        watchdog = watchdog_interval(self.environ)
        resync_at = self.clock() + self.resync_interval if self.resync_interval > 0 else None
        ping_at = self.clock() + watchdog if watchdog else None
        while not self.stop:
            deadlines = [d for d in (resync_at, ping_at) if d is not None]
            timeout = max(0.0, min(deadlines) - self.clock()) if deadlines else None
            readable = select.select([self.uevents.fileno(), self._wakeup[0]], [], [], timeout)[0]
            if self._wakeup[0] in readable:
                self._drain_wakeup()
            if self.stop:
                break
            try:
                changed = self._step(readable, resync_at)
            except Exception as exc:
                # A bug outside one pairing: fail closed for all, keep serving events.
                self.contain("in the event loop", exc)
                self.withdraw("error")
                changed = True
            now = self.clock()
            if changed and resync_at is not None:
                resync_at = self.clock() + self.resync_interval  # any full scan resets the timer
            if ping_at is not None and now >= ping_at:
                self.notify("WATCHDOG=1")
                ping_at = now + watchdog
            if changed and self.status() != self._status_sent:
                self.notify("STATUS=" + self.status())
                self._status_sent = self.status()
        self.notify("STOPPING=1")
        self.log("info", "stopping: %s", self.status())

    def _step(self, readable, resync_at):
        """Handle one wake-up; True if a full scan ran."""
        changed = False
        if self.reload:
            self.reload = False
            self._reload()
            changed = True
        if self.uevents.fileno() in readable:
            changed = self._handle_uevents() or changed
        if resync_at is not None and self.clock() >= resync_at:
            self.rescan("periodic resync", resync=True)
            changed = True
        return changed


def carried(old, now):
    """A pairing record carrying the history (VF, changes) of an older state.json record."""
    pair = {"vf": None, "vf_name": None, "changes": 0, "changed_at": now, "netvsc": None,
            "mac": None, "vmbus_id": None, "kind": None, "status": "new"}
    if isinstance(old, dict) and isinstance(old.get("changes"), int) and not isinstance(old["changes"], bool):
        pair.update((key, old[key]) for key in pair if key in old and isinstance(old[key], (str, int, float)))
        pair["changes"] = old["changes"]
    return pair


# --------------------------------------------------------------------------------------------
# Command line.

def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="netvsc-monitor",
        description="Publish the VF of each declared NetVSC pairing for DPDK fail-safe exec().")
    parser.add_argument("--sysfs-root", default="/sys", help="sysfs mount to scan (default /sys)")
    parser.add_argument("--config-dir", default=DEFAULT_CONFIG_DIR,
                        help="pairing declarations (default %(default)s)")
    parser.add_argument("--state-dir", default=DEFAULT_STATE_DIR,
                        help="where <id>.vf and state.json are published (default %(default)s)")
    parser.add_argument("--textfile", help="also write Prometheus metrics to this file")
    parser.add_argument("--resync-interval", type=float, default=DEFAULT_RESYNC,
                        help="seconds between safety rescans, 0 disables (default %(default)s)")
    parser.add_argument("--once", action="store_true",
                        help="scan, publish, print what changed as JSON and exit")
    parser.add_argument("--clear", action="store_true",
                        help="withdraw every published VF (empty <id>.vf, state.json) and exit; "
                             "for ExecStopPost=")
    parser.add_argument("--foreground", action="store_true",
                        help="accepted for clarity: the monitor never forks (systemd Type=notify)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every uevent burst")
    args = parser.parse_args(argv)
    if args.resync_interval < 0:
        parser.error("--resync-interval must be >= 0")
    if args.clear and args.once:
        parser.error("--clear and --once exclude each other")
    return args


def clear(args, log):
    """--clear: withdraw every published VF (ExecStopPost=, after any stop or crash)."""
    publisher = Publisher(args.state_dir, args.textfile)
    if not os.path.isdir(args.state_dir):
        return 0  # nothing was published
    publisher.prepare(create=False)
    monitor = Monitor(args.sysfs_root, args.config_dir, publisher, log)
    previous, problem = publisher.previous_pairs()
    if problem:
        log("warning", "state.json not used: %s", problem)
    monitor.pairs = dict((pair_id, carried(old, round(time.time(), 3))) for pair_id, old in previous.items())
    ok = monitor.withdraw()
    log("info", "withdrew the VF of %d pairing%s from %s", len(monitor.pairs),
        "" if len(monitor.pairs) == 1 else "s", args.state_dir)
    return 0 if ok else 1


def main(argv=None):
    args = parse_args(argv)
    log = Log(verbose=args.verbose)
    if args.clear:
        try:
            return clear(args, log)
        except (MonitorError, OSError) as exc:
            log("err", "%s", exc)
            return 1
    publisher = Publisher(args.state_dir, args.textfile)
    uevents = monitor = None
    try:
        if not args.once:
            # Listen before the first scan, so that nothing between scan and loop is lost.
            try:
                uevents = UeventSocket()
            except OSError as exc:
                raise MonitorError("cannot listen for kernel uevents: %s" % exc)
        monitor = Monitor(args.sysfs_root, args.config_dir, publisher, log,
                          resync_interval=args.resync_interval, uevents=uevents)
        monitor.start()
        if args.once:
            # For callers that report changes (the role): .vf files written or removed.
            sys.stdout.write(json.dumps({"published": monitor.published, "removed": monitor.removed,
                                         "status": monitor.status()}, sort_keys=True) + "\n")
            return 0
        monitor.loop()
        return 0 if monitor.withdraw() else 1
    except (MonitorError, OSError) as exc:
        log("err", "%s", exc)
    except Exception as exc:
        log("err", "fatal: %s: %s (at %s)", type(exc).__name__, exc, _where(exc))
    finally:
        if uevents is not None:
            uevents.close()
    if monitor is not None and not args.once and publisher.ready:
        _withdraw_after_failure(monitor, log)
    return 1


def _withdraw_after_failure(monitor, log):
    """Best effort: a monitor that failed withdraws what it published (ExecStopPost= also does)."""
    try:
        monitor.withdraw("error")
    except Exception as exc:
        log("err", "cannot withdraw the published VFs: %s", exc)


if __name__ == "__main__":
    raise SystemExit(main())
