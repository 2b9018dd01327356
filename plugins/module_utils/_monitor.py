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
import sys
import tempfile
import time

from ._atomic import write_atomic
from ._declarations import DEFAULT_CONFIG_DIR, ID_RE, known_macs, load_all
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
    family("netvsc_vf_present", "gauge", "1 while the pairing's NetVSC has a VF, else 0.",
           [(labels(i, p), 1 if p["vf"] else 0) for i, p in ordered])
    family("netvsc_vf_changes_total", "counter", "VF arrivals, departures and address changes.",
           [(labels(i, p), p["changes"]) for i, p in ordered])
    family("netvsc_monitor_last_event_timestamp_seconds", "gauge",
           "Unix time of the last kernel uevent that caused a rescan (0: none yet).",
           [("", "%.3f" % last_event)])
    family("netvsc_monitor_resyncs_total", "counter",
           "Full rescans not caused by an event (start, periodic, after lost events, reload).",
           [("", counters["resyncs"])])
    return "\n".join(lines) + "\n"


class Publisher:
    """Writes <id>.vf, state.json and the optional textfile, each atomically."""

    def __init__(self, state_dir, textfile=None):
        self.state_dir = state_dir
        self.textfile = textfile

    def prepare(self):
        """Fail early, before anything is written, if a destination is not writable."""
        try:
            os.makedirs(self.state_dir, 0o755, exist_ok=True)
        except OSError as exc:
            raise MonitorError("cannot create state directory %s: %s" % (self.state_dir, exc.strerror))
        for directory in [self.state_dir] + ([os.path.dirname(os.path.abspath(self.textfile))]
                                             if self.textfile else []):
            try:
                fd, probe = tempfile.mkstemp(prefix=".probe.", dir=directory)
                os.close(fd)
                os.unlink(probe)
            except OSError as exc:
                raise MonitorError("directory %s is not writable: %s" % (directory, exc.strerror))
        self._remove_leftovers()

    def _remove_leftovers(self):
        # Temporary files of a writer killed between mkstemp and rename (SIGKILL, power loss).
        for name in os.listdir(self.state_dir):
            if name.startswith((".probe.", ".state.json.")) or (
                    name.startswith(".") and ".vf." in name):
                try:
                    os.unlink(os.path.join(self.state_dir, name))
                except OSError:
                    pass

    def vf_path(self, pair_id):
        return os.path.join(self.state_dir, pair_id + ".vf")

    def publish_pairs(self, pairs):
        """Write every <id>.vf; return the ids whose file content changed."""
        changed = []
        for pair_id, pair in sorted(pairs.items()):
            if write_atomic(self.vf_path(pair_id), pair["vf"] + "\n" if pair["vf"] else ""):
                changed.append(pair_id)
        return changed

    def publish_state(self, pairs, counters, last_event):
        state = {"format": STATE_FORMAT, "pairs": pairs, "counters": counters,
                 "updated_at": round(time.time(), 3)}
        write_atomic(os.path.join(self.state_dir, "state.json"),
                     json.dumps(state, indent=2, sort_keys=True) + "\n")
        if self.textfile:
            write_atomic(self.textfile, render_textfile(pairs, counters, last_event))

    def remove_stale(self, declared_ids):
        """Delete <id>.vf files of pairings no longer declared; return the removed ids."""
        removed = []
        try:
            names = os.listdir(self.state_dir)
        except OSError:
            return removed
        for name in sorted(names):
            pair_id, ext = os.path.splitext(name)
            if ext == ".vf" and ID_RE.match(pair_id) and pair_id not in declared_ids:
                try:
                    os.unlink(os.path.join(self.state_dir, name))
                    removed.append(pair_id)
                except FileNotFoundError:
                    pass
        return removed

    def previous_pairs(self):
        """Pairs of the last state.json (to carry counters across restarts), or {}."""
        try:
            with open(os.path.join(self.state_dir, "state.json")) as handle:
                pairs = json.load(handle).get("pairs", {})
        except (OSError, ValueError, AttributeError):
            return {}
        return pairs if isinstance(pairs, dict) else {}


# --------------------------------------------------------------------------------------------
# The monitor.

def vf_of(declaration, snapshot, log):
    """(netvsc name, VF device argument or None, VF record or None) for one declaration."""
    try:
        _key, iface = designated(declaration, snapshot.interfaces)
    except Conflict as exc:
        # Never another NIC's VF: the pairing stays empty until its declaration is fixed.
        log("err", "%s; publishing no VF", exc)
        return declaration["netvsc"].get("name"), None, None
    if iface is None:
        return declaration["netvsc"].get("name"), None, None
    vf = iface["vf"]
    if vf is None:
        return iface["name"], None, None
    try:
        return iface["name"], vf_device_arg(vf), vf
    except DevargsError as exc:
        # Never publish what fail-safe could not parse: an empty file keeps exec() retrying.
        log("err", "%s: VF %s not published: %s", declaration["id"], vf.get("name"), exc)
        return iface["name"], None, None


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
        self.pairs = {}
        self.counters = {"uevents": 0, "rescans": 0, "resyncs": 0, "overflows": 0,
                         "publish_errors": 0, "declaration_errors": 0}
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
        declarations, errors = load_all(self.config_dir)
        for error in errors:
            self.log("err", "skipping declaration %s", error)
        self.counters["declaration_errors"] = len(errors)
        self.declarations = declarations
        declared = set(d["id"] for d in declarations)
        for pair_id in list(self.pairs):
            if pair_id not in declared:
                del self.pairs[pair_id]
        self.removed = self.publisher.remove_stale(declared)
        for pair_id in self.removed:
            self.log("info", "%s: no longer declared, removed its .vf file", pair_id)
        if not declarations:
            self.log("warning", "no pairing declarations in %s", self.config_dir)

    # -- scanning and publication ---------------------------------------------------------

    def rescan(self, reason, resync=False):
        """Scan sysfs, update each pairing, publish. Never raises on sysfs content."""
        self.counters["rescans"] += 1
        if resync:
            self.counters["resyncs"] += 1
        self.log("debug", "rescan (%s)", reason)
        snapshot = scan(self.sysfs_root, known_macs=known_macs(self.declarations),
                        with_addresses=False)
        now = round(time.time(), 3)
        for declaration in self.declarations:
            self._update_pair(declaration, snapshot, now)
        try:
            self.published = self.publisher.publish_pairs(self.pairs)
            self.publisher.publish_state(self.pairs, self.counters, self.last_event)
        except OSError as exc:
            # Keep running: the next event or resync rewrites everything (write_atomic left
            # the previous files intact).
            self.counters["publish_errors"] += 1
            self.log("err", "cannot publish to %s: %s", self.publisher.state_dir, exc)
            return False
        return True

    def _update_pair(self, declaration, snapshot, now):
        pair_id = declaration["id"]
        netvsc, arg, vf = vf_of(declaration, snapshot, self.log)
        pair = self.pairs.get(pair_id)
        if pair is None:  # first sight since start: carry history from the last state.json
            pair = self._initial_pair(pair_id, declaration, now)
            self.pairs[pair_id] = pair
        if arg != pair["vf"]:
            self._log_change(pair_id, netvsc, pair, arg, vf)
            pair["changes"] += 1
            pair["changed_at"] = now
        pair.update(netvsc=netvsc, mac=declaration["netvsc"]["mac"],
                    vmbus_id=declaration["netvsc"]["vmbus_id"], vf=arg,
                    vf_name=vf["name"] if vf else None, kind=vf["kind"] if vf else None)

    def _initial_pair(self, pair_id, declaration, now):
        old = self._previous.get(pair_id)
        if isinstance(old, dict) and isinstance(old.get("changes"), int):
            return {"vf": old.get("vf"), "vf_name": old.get("vf_name"), "changes": old["changes"],
                    "changed_at": old.get("changed_at", now), "netvsc": old.get("netvsc"),
                    "mac": old.get("mac"), "kind": old.get("kind")}
        return {"vf": None, "vf_name": None, "changes": 0, "changed_at": now,
                "netvsc": None, "mac": None, "kind": None}

    def _log_change(self, pair_id, netvsc, pair, arg, vf):
        who = "%s (%s)" % (pair_id, netvsc or "NetVSC absent")
        if pair["vf"] is None:
            self.log("info", "%s: VF %s arrived at %s", who, vf["name"], arg)
        elif arg is None:
            self.log("notice", "%s: VF %s departed from %s", who, pair["vf_name"], pair["vf"])
        else:
            self.log("info", "%s: VF %s moved from %s to %s", who, vf["name"], pair["vf"], arg)

    def status(self):
        with_vf = sum(1 for pair in self.pairs.values() if pair["vf"])
        return "%d pair%s, %d with VF" % (len(self.pairs), "" if len(self.pairs) == 1 else "s", with_vf)

    def notify(self, *lines):
        sd_notify("\n".join(lines), self.environ)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self):
        """Load declarations and publish a full scan: after a crash this restores the truth."""
        self.publisher.prepare()
        self._previous = self.publisher.previous_pairs()
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

    def loop(self):
        """Wait for uevents, signals and deadlines; nothing else wakes the process."""
        self._install_signals()
        self._status_sent = self.status()
        self.notify("READY=1", "STATUS=" + self._status_sent)
        watchdog = watchdog_interval(self.environ)
        resync_at = self.clock() + self.resync_interval if self.resync_interval > 0 else None
        ping_at = self.clock() + watchdog if watchdog else None
        while not self.stop:
            deadlines = [d for d in (resync_at, ping_at) if d is not None]
            timeout = max(0.0, min(deadlines) - self.clock()) if deadlines else None
            readable = select.select([self.uevents.fileno(), self._wakeup[0]], [], [], timeout)[0]
            changed = False
            if self._wakeup[0] in readable:
                self._drain_wakeup()
            if self.stop:
                break
            if self.reload:
                self.reload = False
                self.log("info", "SIGHUP: re-reading declarations from %s", self.config_dir)
                self.notify("RELOADING=1")
                self.load_declarations()
                self.rescan("reload", resync=True)
                changed = True
                self.notify("READY=1")
            if self.uevents.fileno() in readable:
                changed = self._handle_uevents() or changed
            now = self.clock()
            if resync_at is not None and now >= resync_at:
                self.rescan("periodic resync", resync=True)
                changed = True
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
    parser.add_argument("--foreground", action="store_true",
                        help="accepted for clarity: the monitor never forks (systemd Type=notify)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every uevent burst")
    args = parser.parse_args(argv)
    if args.resync_interval < 0:
        parser.error("--resync-interval must be >= 0")
    return args


def main(argv=None):
    args = parse_args(argv)
    log = Log(verbose=args.verbose)
    publisher = Publisher(args.state_dir, args.textfile)
    uevents = None
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
        else:
            monitor.loop()
    except MonitorError as exc:
        log("err", "%s", exc)
        return 1
    except OSError as exc:
        log("err", "fatal: %s", exc)
        return 1
    finally:
        if uevents is not None:
            uevents.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
