"""``countersign users``: who may sign in, and password hashes for a users file."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from agent.cli_common import JsonFlag, emit, fail, settings_or_fail

users_app = typer.Typer(help="People who may use Countersign and how they sign in.", no_args_is_help=True)


@users_app.command("list")
def list_users(as_json: JsonFlag = False) -> None:
    """Configured users, their roles and how each can sign in to the web app."""
    from agent.users import load_directory

    try:
        directory = load_directory(settings_or_fail().users_file)
    except (OSError, ValueError) as exc:
        fail(str(exc).splitlines()[0])
    users = directory.all()
    if as_json:
        emit(
            [
                {
                    "id": u.id,
                    "name": u.name,
                    "roles": list(u.roles),
                    "password": u.password_hash is not None,
                    "email": u.email,
                }
                for u in users
            ]
        )
        return
    for u in users:
        ways = (["password"] if u.password_hash else []) + ([f"SSO as {u.email}"] if u.email else [])
        typer.echo(f"{u.id:<12} {u.name:<24} {', '.join(u.roles):<28} {'; '.join(ways) or 'cannot sign in'}")


@users_app.command("hash-password")
def hash_password_command(
    from_stdin: Annotated[
        bool, typer.Option("--stdin", help="read the password from the first line of standard input")
    ] = False,
) -> None:
    """Print a password hash to paste as `password_hash` in a users file (the password is asked twice)."""
    from agent.passwords import hash_password

    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        fail("a password needs at least 8 characters")
    typer.echo(hash_password(password))
