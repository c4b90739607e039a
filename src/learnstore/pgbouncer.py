"""A throwaway PgBouncer in front of a PostgreSQL server, in transaction mode: for tests.

The pytest plugin starts one when asked (`--learnstore-pgbouncer`), and hands the tests DSNs through
it; a service's own tests can do the same with `PgBouncer.start(server_dsn)`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

__all__ = ["PgBouncer", "PgBouncerError"]

START_TIMEOUT = 10.0


class PgBouncerError(RuntimeError):
    """PgBouncer is not installed, or did not start; the message says which and how to fix it."""


def _spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@dataclass
class PgBouncer:
    """A running PgBouncer: `dsn(of)` turns a DSN on the server into the same DSN through it."""

    port: int
    folder: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    host: str = "127.0.0.1"

    @classmethod
    def start(cls, server_dsn: str, *, pool_mode: str = "transaction", pool_size: int = 20) -> PgBouncer:
        """Start PgBouncer on a spare port, forwarding every database name to `server_dsn`'s server.

        Clients are trusted (it listens on 127.0.0.1 only); it logs in to the server as the DSN's
        user, with the DSN's password if it has one. That user may use the admin console (`SHOW
        VERSION`), which is how learnstore tells what it can do.
        """
        binary = shutil.which("pgbouncer") or next(
            (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(p, os.X_OK)), None
        )
        if binary is None:
            raise PgBouncerError("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
        server = conninfo_to_dict(server_dsn)
        user = str(server.get("user") or os.environ.get("PGUSER") or pwd.getpwuid(os.getuid()).pw_name)
        password = str(server.get("password") or "")
        target = f"host={server.get('host') or '127.0.0.1'} port={server.get('port') or 5432}"
        if password:
            target += f" password={password}"
        folder = Path(tempfile.mkdtemp(prefix="learnstore-pgbouncer-"))
        port = _spare_port()
        (folder / "users.txt").write_text(f"{_quote(user)} {_quote(password)}\n")
        (folder / "pgbouncer.ini").write_text(
            f"""[databases]
* = {target}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "users.txt"}
admin_users = {user}
pool_mode = {pool_mode}
default_pool_size = {pool_size}
max_client_conn = 500
; a test server is shared and busy: give idle server connections back soon, and after a refused
; login (too many connections) try again in a second rather than PgBouncer's 15
server_idle_timeout = 10
server_login_retry = 1
; psycopg sends extra_float_digits at startup; PgBouncer refuses what it does not know
ignore_startup_parameters = extra_float_digits
logfile = {folder / "pgbouncer.log"}
"""
        )
        command = [binary, str(folder / "pgbouncer.ini")]
        if os.geteuid() == 0:
            # PgBouncer refuses to run as root: it takes a user to switch to, which must read the folder.
            account = next((n for n in ("postgres", "nobody") if _exists(n)), None)
            if account is None:
                raise PgBouncerError(
                    "PgBouncer will not run as root, and there is no postgres or nobody user"
                )
            os.chmod(folder, 0o755)
            for path in (folder, *folder.iterdir()):
                shutil.chown(path, account)
            command[1:1] = ["-u", account]
        # PgBouncer also logs every connection to stderr: to a file, never to a pipe nobody reads
        # (a full pipe blocks PgBouncer, and every client with it).
        with (folder / "stderr.log").open("wb") as stderr:
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        bouncer = cls(port=port, folder=folder, process=process)
        bouncer._wait_until_listening()
        return bouncer

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = (self.folder / "stderr.log").read_text(errors="replace")[-2000:]
                log = self.folder / "pgbouncer.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                self.stop()
                raise PgBouncerError(f"pgbouncer exited at start: {err.strip() or tail.strip()}")
            try:
                socket.create_connection((self.host, self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise PgBouncerError(f"pgbouncer did not listen on port {self.port} within {START_TIMEOUT:.0f} s")

    def dsn(self, database_dsn: str) -> str:
        """`database_dsn` (a DSN on the server PgBouncer forwards to) through PgBouncer."""
        params = {k: v for k, v in conninfo_to_dict(database_dsn).items() if k != "hostaddr"}
        params.update(host=self.host, port=str(self.port))
        return make_conninfo("", **params)

    def stop(self) -> None:
        """Stop PgBouncer and remove its folder."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _exists(account: str) -> bool:
    try:
        pwd.getpwnam(account)
    except KeyError:
        return False
    return True
