"""Start or stop a streaming standby of the local server: `python tools/standby.py start|stop|status`.

The standby is a Debian cluster (`pg_createcluster 15 replica`) on port 5433 whose data directory is
a `pg_basebackup -R` of the server on 127.0.0.1:5432, streaming through the physical replication
slot `learnstore_replica`. `start` is idempotent (a running standby is left as it is) and prints the
standby's DSN; `stop` stops and drops the cluster and drops the slot, so the primary keeps no WAL
for it. The replica tests read the DSN from $LEARNSTORE_TEST_REPLICA_DSN (`.ci/run` sets it).

What the primary needs, and what this tool changes on it: wal_level replica, max_wal_senders and
max_replication_slots are PostgreSQL 15's defaults; Debian's pg_hba.conf lets no replication
connection in over TCP, so `start` appends `host replication all 127.0.0.1/32 trust` (the same trust
the server's other local lines give) and reloads the server. Run as root: the clusters belong to
the postgres OS user, so pg_basebackup runs as that user (runuser) and the files are its own.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

VERSION = "15"
CLUSTER = "replica"
PORT = 5433
SLOT = "learnstore_replica"
PRIMARY = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
DSN = f"postgresql://postgres@127.0.0.1:{PORT}/postgres"
CTL = ("--skip-systemctl-redirect", VERSION, CLUSTER)
_SLOT_ROW = f"pg_replication_slots WHERE slot_name = '{SLOT}'"
HBA_LINE = "host replication all 127.0.0.1/32 trust"
# A hot standby refuses to start when one of these is lower than on its primary.
MATCHED = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(args), check=False, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SystemExit(f"standby: {' '.join(args)} failed ({done.returncode}):\n{done.stderr.strip()}")
    return done


def _primary(query: str) -> str:
    return _run("psql", *PRIMARY, "-XAtc", query).stdout.strip()


def _standby(query: str) -> str | None:
    done = _run("psql", "-h", "127.0.0.1", "-p", str(PORT), "-U", "postgres", "-XAtc", query, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def _data_dir() -> Path:
    return Path(f"/var/lib/postgresql/{VERSION}/{CLUSTER}")


def _conf_dir() -> Path:
    return Path(f"/etc/postgresql/{VERSION}/{CLUSTER}")


def _allow_replication() -> None:
    hba = Path(_primary("SHOW hba_file"))
    lines = hba.read_text().splitlines()
    if HBA_LINE not in (line.strip() for line in lines):
        hba.write_text("\n".join([*lines, HBA_LINE]) + "\n")
        _primary("SELECT pg_reload_conf()")
        print(f"standby: added '{HBA_LINE}' to {hba} and reloaded the server")


def _slot_active() -> bool:
    return _primary(f"SELECT active FROM {_SLOT_ROW}") == "t"


def running() -> bool:
    """Whether a standby answers on PORT and is in recovery (streaming from the primary)."""
    return _standby("SELECT pg_is_in_recovery()") == "t"


def start(timeout: float = 120.0) -> str:
    """A running standby (made anew unless one is already running); its DSN."""
    if running():
        return DSN
    _allow_replication()
    _drop()  # a stopped or half-made standby of an earlier run: start from a fresh base backup
    _run("pg_createcluster", VERSION, CLUSTER, "-p", str(PORT))
    settings = {name: _primary(f"SHOW {name}") for name in MATCHED}
    conf = _conf_dir() / "conf.d" / "learnstore-standby.conf"
    # The primary's client authentication (trust from 127.0.0.1), not Debian's default (a password)
    shutil.copyfile(_primary("SHOW hba_file"), _conf_dir() / "pg_hba.conf")
    conf.write_text("".join(f"{name} = {value}\n" for name, value in settings.items()) + "hot_standby = on\n")
    # Emptied, not removed: the postgres user may not create directories in its parent.
    for entry in _data_dir().iterdir():
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    # -C -S: the slot is made with the backup, so no WAL the standby needs is recycled before it
    # connects; -X stream: the WAL written during the backup comes along; -R: standby.signal and
    # primary_conninfo (with the slot) in postgresql.auto.conf.
    _run(
        "runuser", "-u", "postgres", "--",
        "pg_basebackup", *PRIMARY, "-D", str(_data_dir()), "-R", "-X", "stream", "-C", "-S", SLOT,
        "--checkpoint=fast",
    )  # fmt: skip
    _run("pg_ctlcluster", *CTL, "start")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running() and _slot_active():
            return DSN
        time.sleep(0.2)
    raise SystemExit(f"standby: not streaming after {timeout:.0f}s")


def _drop() -> None:
    """Stop and drop the standby cluster, and drop its slot on the primary; nothing left is fine."""
    if (_conf_dir() / "postgresql.conf").exists() or _data_dir().exists():
        _run("pg_ctlcluster", *CTL, "stop", "-m", "fast", check=False)
        _run("pg_dropcluster", VERSION, CLUSTER, check=False)
        shutil.rmtree(_data_dir(), ignore_errors=True)
        shutil.rmtree(_conf_dir(), ignore_errors=True)
    _primary(f"SELECT pg_drop_replication_slot(slot_name) FROM {_SLOT_ROW}")


def stop() -> None:
    _drop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=("start", "stop", "status"))
    args = parser.parse_args(argv)
    if args.command == "start":
        print(start())
    elif args.command == "stop":
        stop()
        print("standby: stopped, dropped, slot dropped")
    else:
        up = running()
        print(DSN if up else "standby: not running")
        return 0 if up else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
