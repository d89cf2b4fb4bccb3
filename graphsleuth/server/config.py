"""The local server's configuration, its Java, its admin tool and its password."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

from ..errors import StoreError
from .fetch import fetch, is_fetched
from .paths import bolt_port, http_port, lib_folder, neo4j_home, password_file
from .settings import ADMIN_GC, IMPORT_HEAP, JVM_FLAGS, PAGECACHE, java

__all__ = ["admin", "read_password", "write_config", "child_env", "ensure_password"]


def write_config() -> Path:
    """Write neo4j.conf for the current ports (rewritten on each start)."""
    nh = neo4j_home()
    conf = nh / "conf"
    for sub in ("conf", "data", "logs", "run", "import", "plugins"):
        (nh / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(nh, 0o700)
    lines = [
        "# Written by graphsleuth.server on every start; edits here are overwritten.",
        f"server.directories.data={nh / 'data'}",
        f"server.directories.logs={nh / 'logs'}",
        f"server.directories.run={nh / 'run'}",
        f"server.directories.import={nh / 'import'}",
        f"server.directories.plugins={nh / 'plugins'}",
        f"server.directories.lib={lib_folder()}",
        "server.default_listen_address=127.0.0.1",
        "server.default_advertised_address=127.0.0.1",
        f"server.bolt.listen_address=127.0.0.1:{bolt_port()}",
        f"server.bolt.advertised_address=127.0.0.1:{bolt_port()}",
        f"server.http.listen_address=127.0.0.1:{http_port()}",
        f"server.http.advertised_address=127.0.0.1:{http_port()}",
        "server.https.enabled=false",
        f"server.memory.pagecache.size={PAGECACHE}",
        "dbms.security.auth_enabled=true",
        "dbms.usage_report.enabled=false",
        "client.allow_telemetry=false",
        "browser.remote_content_hostname_whitelist=localhost,127.0.0.1",
        "db.tx_log.rotation.retention_policy=1 files",
        # LOAD CSV (graphsleuth.store.load on the local server) reads RFC 4180 files:
        # a quote inside a field is doubled, a backslash is just a backslash.
        "dbms.import.csv.legacy_quote_escaping=false",
        # neo4j-admin runs each command in a JVM of its own, started with these flags.
        *(f"server.jvm.additional={flag}" for flag in (ADMIN_GC, *JVM_FLAGS)),
    ]
    path = conf / "neo4j.conf"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def child_env() -> dict[str, str]:
    """Environment for Java children: our NEO4J_HOME/CONF, and no NEO4J_* secrets passed on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    env["NEO4J_HOME"] = str(neo4j_home())
    env["NEO4J_CONF"] = str(neo4j_home() / "conf")
    env.setdefault("JAVA_TOOL_OPTIONS", "")
    if not env["JAVA_TOOL_OPTIONS"]:
        del env["JAVA_TOOL_OPTIONS"]
    return env


def admin(args: list[str], secret_args: list[str] | None = None, heap: str = IMPORT_HEAP) -> subprocess.CompletedProcess:
    """Run ``neo4j-admin`` (Neo4jAdminCommand from our lib/) with ``args``.

    ``secret_args`` go through a 0600 ``@file`` (deleted afterwards) so that they
    never show on a command line: the admin tool expands ``@file`` itself.
    """
    if not is_fetched():
        fetch()
    write_config()
    cmd = [java(), f"-Xmx{heap}", ADMIN_GC, *JVM_FLAGS, "-cp", str(lib_folder() / "*"), "org.neo4j.server.startup.Neo4jAdminCommand"]
    argfile = None
    try:
        if secret_args:
            argfile = neo4j_home() / "run" / f"admin-{secrets.token_hex(6)}.args"
            fd = os.open(argfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write("\n".join([*args, *secret_args]) + "\n")
            cmd.append(f"@{argfile}")
        else:
            cmd.extend(args)
        env = child_env()
        env["HEAP_SIZE"] = heap  # the heap of the JVM the tool starts for the command
        return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=neo4j_home())
    finally:
        if argfile is not None:
            argfile.unlink(missing_ok=True)


def _database_exists() -> bool:
    return (neo4j_home() / "data" / "databases" / "system").exists()


def new_password() -> str:
    """A random password of 32 URL-safe characters that never starts with ``-``.

    neo4j-admin reads a password that starts with ``-`` as an option (about one fresh
    server in 64 would not start), so the first character is a letter or digit.
    """
    password = secrets.token_urlsafe(24)
    return secrets.choice("abcdefghijkmnopqrstuvwxyz23456789") + password[1:] if password[0] in "-_" else password


def ensure_password() -> None:
    """Generate the password and set it in Neo4j before the very first start."""
    pw_file = password_file()
    if pw_file.exists():
        os.chmod(pw_file, 0o600)
        if not _database_exists() and not (neo4j_home() / "data" / "dbms" / "auth.ini").exists():
            _set_initial_password(read_password())
        return
    if _database_exists():
        raise StoreError(
            f"the local database in {neo4j_home() / 'data'} exists but its password file is gone; remove that data folder to start afresh"
        )
    password = new_password()
    pw_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(pw_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(password + "\n")
    _set_initial_password(password)


def _set_initial_password(password: str) -> None:
    done = admin(["dbms", "set-initial-password"], secret_args=[password], heap="256m")
    output = (done.stdout + done.stderr).replace(password, "********")
    if done.returncode != 0 or "Changed password" not in output:
        raise StoreError(f"could not set the initial Neo4j password: {output.strip().splitlines()[-1] if output.strip() else 'no output'}")


def read_password() -> str:
    try:
        return password_file().read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise StoreError(
            "no password for the local Neo4j server yet: run `graphsleuth neo4j start` first, "
            "or set NEO4J_URI/NEO4J_USERNAME/NEO4J_PASSWORD for another server"
        ) from None
