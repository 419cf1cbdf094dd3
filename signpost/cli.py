"""The `signpost` command: serve, migrate, keys, and each domain's commands."""

import os
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from signpost import db, native
from signpost.auth import service as auth
from signpost.auth import users
from signpost.config import get_settings
from signpost.directory import cli as directory_cli
from signpost.errors import Problem
from signpost.geography import cli as geography_cli
from signpost.indicators import cli as indicators_cli
from signpost.ods import cli as ods_cli
from signpost.openreferral import cli as openreferral_cli
from signpost.referrals import cli as referrals_cli

app = typer.Typer(help="Signpost: social-determinants signposting service.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
users_app = typer.Typer(help="People who sign in to the pages with a username and password.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.add_typer(directory_cli.app, name="directory")
openreferral_cli.register(directory_cli.app)  # import, export, check-links
app.add_typer(geography_cli.app, name="geography")
app.add_typer(indicators_cli.app, name="indicators")
app.add_typer(referrals_cli.app, name="referrals")
app.add_typer(ods_cli.app, name="ods")

console = Console(stderr=True)
# Idle keep-alive connections stay open longer than a load balancer's (60 s is common), so the balancer, not the
# service, closes them: otherwise a request can be sent on a connection the service is closing, and is lost.
KEEP_ALIVE_SECONDS = 75
# The event loop and HTTP parser every worker runs on (`make serve` and production alike). Without them uvicorn
# falls back to asyncio and h11, which answer markedly fewer requests (bench.floor_table measures both).
LOOP, HTTP = "uvloop", "httptools"


def _session() -> Session:
    return Session(db.get_engine())


@app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (use 1 on SQLite).")] = 1,
) -> None:
    """Migrate, load starter content, then serve."""
    import uvicorn

    from signpost.bootstrap import prepare

    settings = get_settings()
    new_key = prepare(settings, console)
    if new_key:
        console.print("[bold]First run: an admin key was made. Keep it; it is not shown again.[/bold]")
        print(f"Admin key: {new_key}", flush=True)
    # Workers re-read settings from the environment; pass the secrets file's values along.
    os.environ.setdefault("SIGNPOST_SECRET_KEY", settings.secret_key)
    console.print(f"Signpost on http://{host}:{port}  (database: {settings.effective_database_url.split('@')[-1]})")
    if not native.installed():
        console.print("The hot modules run as plain Python: `make native` compiles them (signpost/native.py).")
    uvicorn.run(
        "signpost.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        loop=LOOP,
        http=HTTP,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (safe to repeat)."""
    db.upgrade(get_settings().effective_database_url)
    current, heads = db.migration_state(db.get_engine())
    console.print(f"Database at {', '.join(sorted(current))} (heads {', '.join(sorted(heads))}).")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="clinician, prescriber, editor, analyst or admin")],
    name: Annotated[str, typer.Option(help="Who or what holds the key")],
    practice: Annotated[str | None, typer.Option(help="The practice's ODS code (clinician keys)")] = None,
) -> None:
    """Make a key; the key itself is the last line printed, and is not shown again."""
    with _session() as session:
        try:
            record, secret = auth.create_key(session=session, role=role, name=name, practice_ods=practice)
        except Problem as exc:
            console.print(f"[red]{exc.detail}[/red]")
            raise typer.Exit(2) from None
        session.commit()
        print(f"Created key {record.id} ({record.role}, {record.name}). Keep it safe; it is not shown again:")
        print(secret)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    table = Table("id", "name", "role", "practice", "prefix", "created", "revoked")
    with _session() as session:
        for k in auth.list_keys(session=session):
            table.add_row(
                str(k.id),
                k.name,
                k.role,
                k.practice_ods or "",
                k.prefix + "…",
                k.created_at.isoformat(timespec="seconds"),
                k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "",
            )
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The key's id, from 'keys list'")]) -> None:
    """Revoke a key; it stops working at once."""
    with _session() as session:
        try:
            record = auth.revoke_key(session=session, key_id=key_id)
        except Problem as exc:
            console.print(f"[red]{exc.detail}[/red]")
            raise typer.Exit(2) from None
        session.commit()
        print(f"Revoked key {record.id} ({record.name}).")


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option(help="3 to 64 lower-case letters, digits, dots, dashes or underscores")],
    role: Annotated[str, typer.Option(help="clinician, prescriber, editor, analyst or admin")],
    practice: Annotated[str | None, typer.Option(help="The practice's ODS code (clinicians)")] = None,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="Asked for when not given")
    ] = "",
) -> None:
    """Add a user who signs in to the pages; the password is kept only as an argon2 hash."""
    with _session() as session:
        try:
            user = users.create_user(
                session=session, username=username, password=password, role=role, practice_ods=practice
            )
        except Problem as exc:
            console.print(f"[red]{exc.detail}[/red]")
            raise typer.Exit(2) from None
        session.commit()
        print(f"Created user {user.id} ({user.username}, {user.role}).")


@users_app.command("list")
def users_list() -> None:
    """List users (never their passwords)."""
    table = Table("id", "role", "practice", "created", "last sign-in", "disabled")
    table.add_column("username", no_wrap=True)
    with _session() as session:
        for u in users.list_users(session=session):
            table.add_row(
                str(u.id),
                u.role,
                u.practice_ods or "",
                u.created_at.date().isoformat(),
                u.last_sign_in_at.date().isoformat() if u.last_sign_in_at else "",
                u.disabled_at.date().isoformat() if u.disabled_at else "",
                u.username,
            )
    Console().print(table)


@users_app.command("disable")
def users_disable(user_id: Annotated[int, typer.Argument(help="The user's id, from 'users list'")]) -> None:
    """Disable a user: they are signed out and cannot sign in again."""
    with _session() as session:
        try:
            user = users.disable_user(session=session, user_id=user_id)
        except Problem as exc:
            console.print(f"[red]{exc.detail}[/red]")
            raise typer.Exit(2) from None
        session.commit()
        print(f"Disabled user {user.id} ({user.username}).")


if __name__ == "__main__":
    app()
