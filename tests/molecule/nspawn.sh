#!/usr/bin/env bash
# Start and stop systemd-nspawn containers for the Molecule scenarios, without
# systemd-machined (--register=no) and without a systemd on the host.
#
#   nspawn.sh start NAME ROOT [--bind HOST_DIR:CONTAINER_DIR]... [--log FILE] [--timeout S]
#       Boots ROOT (read-only, --volatile=overlay) as container NAME in a cgroup of its own,
#       waits until its systemd is "running" (or "degraded"), and prints one JSON line:
#       {"name", "pid" (host PID of the container's PID 1: the nsenter target),
#        "nspawn_pid", "cgroup" (relative path below each cgroup hierarchy), "state"}.
#   nspawn.sh stop NAME NSPAWN_PID CGROUP [NAME NSPAWN_PID CGROUP]... [--timeout S]
#       Powers the containers off together (SIGTERM to each systemd-nspawn), waits, SIGKILLs
#       what is left, removes their cgroups. Safe to repeat; a no-op for a container that is
#       gone (a PID is only signalled if it is still systemd-nspawn --machine=NAME).
#   nspawn.sh sweep
#       Removes empty leftover cgroups of earlier runs (after a crash).
#
# Cgroups: with --keep-unit, systemd-nspawn runs the container in the cgroup it is started
# from (it creates "payload" and "supervisor" below it). Two containers started from one
# cgroup share that tree and break each other, so each gets its own directory under
# $CGROUP_BASE in every hierarchy nspawn uses: /sys/fs/cgroup itself on a cgroup v2 host,
# /sys/fs/cgroup/systemd (name=systemd) and /sys/fs/cgroup/unified on a hybrid host like
# this one. The launching subshell moves itself there, then execs systemd-nspawn.
set -euo pipefail

CGROUP_BASE=hyperv-netvsc-molecule
die() { printf 'nspawn.sh: %s\n' "$*" >&2; exit 1; }

cgroup_hierarchies() {
    if [[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]]; then
        echo /sys/fs/cgroup
        return
    fi
    local h found=0
    for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
        if [[ -f $h/cgroup.procs ]]; then echo "$h"; found=1; fi
    done
    ((found)) || die "no name=systemd or cgroup2 hierarchy under /sys/fs/cgroup"
}

# The host PID of the container's init: the child of systemd-nspawn whose PID inside its
# own PID namespace is 1.
container_init_pid() {
    local nspawn_pid=$1 child nspid
    local children
    read -r -a children <"/proc/$nspawn_pid/task/$nspawn_pid/children" 2>/dev/null || true
    for child in "${children[@]}"; do
        nspid=$(awk '/^NSpid:/ {print $NF}' "/proc/$child/status" 2>/dev/null) || continue
        if [[ $nspid == 1 ]]; then echo "$child"; return 0; fi
    done
    return 1
}

# True if PID is the systemd-nspawn process of container NAME (guards against PID reuse).
is_nspawn_of() {
    local pid=$1 name=$2
    [[ -r /proc/$pid/cmdline ]] || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == systemd-nspawn ]] || return 1
    tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF -- "--machine=$name"
}

# True while PID exists and is not a zombie (the launching shell is gone, so an exited
# systemd-nspawn waits for the host's PID 1 to reap it; kill -0 would still succeed).
running() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

remove_cgroup() {
    local rel=$1 h dir pids
    for h in $(cgroup_hierarchies); do
        dir=$h/$CGROUP_BASE/$rel
        [[ -d $dir ]] || continue
        # Anything still in there (it should be empty once nspawn has exited) is killed.
        pids=$(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null || true)
        if [[ -n $pids ]]; then
            # shellcheck disable=SC2086
            kill -KILL $pids 2>/dev/null || true
            sleep 0.2
        fi
        find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
        [[ -d $dir ]] && die "could not remove cgroup $dir"
    done
    return 0
}

cmd_start() {
    local name=$1 root=$2
    shift 2
    local binds=() log=/dev/null timeout=90
    while (($#)); do
        case $1 in
            --bind) binds+=("--bind=$2"); shift 2 ;;
            --log) log=$2; shift 2 ;;
            --timeout) timeout=$2; shift 2 ;;
            *) die "start: unknown argument $1" ;;
        esac
    done
    [[ $name =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] || die "bad machine name $name"
    [[ -x $root/lib/systemd/systemd ]] || die "$root is not a prepared root (tests/molecule/build-root.sh)"

    local rel h
    rel=$name.$$.$(date +%s)
    for h in $(cgroup_hierarchies); do
        mkdir -p "$h/$CGROUP_BASE/$rel"
    done

    # Background subshell: not a process-group leader, so setsid does not fork and $! is
    # the PID of systemd-nspawn itself. It joins the new cgroups before the exec.
    (
        for h in $(cgroup_hierarchies); do
            echo "$BASHPID" >"$h/$CGROUP_BASE/$rel/cgroup.procs"
        done
        exec setsid systemd-nspawn -D "$root" --boot --register=no --keep-unit \
            --console=read-only --private-network --volatile=overlay \
            --machine="$name" "${binds[@]}" </dev/null >"$log" 2>&1
    ) &
    local nspawn_pid=$! deadline=$((SECONDS + timeout)) pid="" state=""

    fail() {
        echo "--- last lines of $log:" >&2
        tail -n 25 "$log" >&2 || true
        kill -KILL "$nspawn_pid" 2>/dev/null || true
        sleep 0.5
        remove_cgroup "$rel" || true
        die "$name: $*"
    }

    until pid=$(container_init_pid "$nspawn_pid"); do
        running "$nspawn_pid" || fail "systemd-nspawn exited during start"
        ((SECONDS < deadline)) || fail "no container init after ${timeout}s"
        sleep 0.1
    done
    # is-system-running --wait blocks while the state is initializing/starting; before the
    # container's D-Bus socket exists it fails at once, hence the loop.
    while :; do
        state=$(timeout 10 nsenter -t "$pid" -m -p -- systemctl is-system-running --wait 2>/dev/null) || true
        case $state in
            running | degraded) break ;;
        esac
        running "$nspawn_pid" || fail "systemd-nspawn exited during boot"
        ((SECONDS < deadline)) || fail "system state '${state}' after ${timeout}s"
        sleep 0.2
    done
    if [[ $state == degraded ]]; then
        echo "nspawn.sh: $name is degraded; failed units:" >&2
        nsenter -t "$pid" -m -p -- systemctl --failed --no-legend >&2 || true
    fi
    printf '{"name": "%s", "pid": %d, "nspawn_pid": %d, "cgroup": "%s", "state": "%s"}\n' \
        "$name" "$pid" "$nspawn_pid" "$rel" "$state"
}

cmd_stop() {
    local timeout=30 names=() pids=() rels=() i
    while (($#)); do
        case $1 in
            --timeout) timeout=$2; shift 2 ;;
            *)
                (($# >= 3)) || die "stop: expected NAME NSPAWN_PID CGROUP, got: $*"
                [[ $3 == "$1".* && $3 != */* ]] || die "cgroup $3 does not belong to $1"
                names+=("$1"); pids+=("$2"); rels+=("$3"); shift 3 ;;
        esac
    done
    # All at once: systemd-nspawn turns SIGTERM into an orderly poweroff of a --boot
    # container (about 1-2 s each).
    local alive=()
    for i in "${!names[@]}"; do
        if is_nspawn_of "${pids[i]}" "${names[i]}"; then
            kill -TERM "${pids[i]}" && alive+=("$i")
        fi
    done
    local deadline=$((SECONDS + timeout)) left
    while :; do
        left=()
        for i in "${alive[@]}"; do
            running "${pids[i]}" && left+=("$i")
        done
        if ((${#left[@]} == 0 || SECONDS >= deadline)); then break; fi
        sleep 0.1
    done
    for i in "${left[@]}"; do
        echo "nspawn.sh: ${names[i]} did not power off in ${timeout}s; killing it" >&2
        kill -KILL "${pids[i]}" 2>/dev/null || true
        sleep 0.5
    done
    for i in "${!names[@]}"; do
        remove_cgroup "${rels[i]}"
    done
}

cmd_sweep() {
    local h dir
    for h in $(cgroup_hierarchies); do
        [[ -d $h/$CGROUP_BASE ]] || continue
        # Older than a minute: a concurrent start fills its new cgroup within milliseconds.
        while IFS= read -r -d '' dir; do
            if [[ -z $(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null) ]]; then
                find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
            fi
        done < <(find "$h/$CGROUP_BASE" -mindepth 1 -maxdepth 1 -type d -mmin +1 -print0)
    done
}

case ${1:-} in
    start) shift; (($# >= 2)) || die "usage: start NAME ROOT [...]"; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    sweep) cmd_sweep ;;
    *) die "usage: nspawn.sh start|stop|sweep ..." ;;
esac
