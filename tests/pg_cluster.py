"""A throwaway PostgreSQL server for tests and benchmarks, from the Debian packages.

`initdb` refuses to run as root, so as root the cluster belongs to the `postgres` system user
(created by `apt-get install postgresql`); otherwise it runs as the current user. The server
listens on a unix socket in its own temporary directory and on 127.0.0.1 at a free port
(password auth over TCP, trust over the socket), with fsync off: it is disposable.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "symgen-super"


def pg_bindir() -> Path | None:
    """Directory holding initdb/pg_ctl/postgres: $PG_BINDIR, the newest Debian one, or PATH."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Cluster:
    root: Path
    port: int
    bindir: Path
    run_as: list[str]

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def url(self, db: str, user: str = SUPERUSER, password: str | None = None) -> str:
        """A TCP URL (password auth)."""
        auth = quote(user) + (f":{quote(password)}" if password is not None else "")
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{db}"

    def socket_url(self, db: str, user: str = SUPERUSER) -> str:
        """A unix-socket URL (trust auth)."""
        return f"postgresql:///{db}?host={quote(str(self.socket_dir))}&port={self.port}&user={user}"

    def run_sql(self, db: str, *statements: str) -> None:
        """Run `statements` as the superuser over the socket (set-up SymGen itself never does)."""
        import psycopg

        with psycopg.connect(self.socket_url(db), autocommit=True) as conn:
            for sql in statements:
                conn.execute(sql.encode())

    def create_reader(self, db: str, user: str, password: str) -> str:
        """A LOGIN role that may only SELECT the tables in `db`'s public schema (what SymGen
        insists on); its TCP URL."""
        self.run_sql("postgres", f"CREATE ROLE {user} LOGIN PASSWORD '{password}'")
        self.run_sql(
            db,
            f"GRANT CONNECT ON DATABASE {db} TO {user}",
            f"GRANT USAGE ON SCHEMA public TO {user}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user}",
        )
        return self.url(db, user, password)

    def stop(self) -> None:
        subprocess.run(
            [
                *self.run_as,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.root / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> Cluster:
    """initdb + start; raises RuntimeError with the server's log when it does not come up."""
    bindir = pg_bindir()
    if bindir is None or not (bindir / "initdb").is_file():
        raise FileNotFoundError("PostgreSQL server binaries (initdb) not found")
    root = Path(tempfile.mkdtemp(prefix="symgen-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        run_as = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    (root / "pw").write_text(SUPERUSER_PASSWORD + "\n")
    os.chmod(root / "pw", 0o644)
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}

    def run(*argv: str) -> None:
        proc = subprocess.run(
            [*run_as, *argv], capture_output=True, text=True, timeout=180, env=env, cwd=root
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {proc.stdout}{proc.stderr}")

    data, sock = root / "data", root / "sock"
    run("mkdir", str(sock))
    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        SUPERUSER,
        f"--pwfile={root / 'pw'}",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "-E",
        "UTF8",
        "--no-sync",
    )
    port = _free_port()
    opts = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB "
        "-c max_connections=20"
    )
    try:
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "log"),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
        )
    except RuntimeError as exc:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"{exc}\n{log}") from None
    cluster = Cluster(root, port, bindir, run_as)
    deadline = time.monotonic() + 30
    while not (sock / f".s.PGSQL.{port}").exists():
        if time.monotonic() > deadline:
            cluster.stop()
            raise RuntimeError("PostgreSQL socket did not appear")
        time.sleep(0.1)
    return cluster
