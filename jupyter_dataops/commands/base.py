"""One definition of each shell command (its words, arguments, help, what it does and what it
shows) drives both the ``dataops`` CLI and the ``%dataops`` magic, so the two never drift apart.

The grammar: a plural group per resource with verbs (``jobs list``, ``jobs show ID``; later
``schedules``, ``snapshots``, ``endpoints``, ``sandboxes``, ``profiles``), plus top-level verbs
only for the actions that create (``run``; later ``schedule``, ``snapshot``, ``publish``).
Options carry the REST API's field names (``--kernel-name`` for ``kernel_name``).

A command's ``run`` gets an :class:`Invocation`: the parsed arguments, a client (the core on the
store, or the server's REST API) and the adapter's :class:`Ui`. It returns ``(value, exit code)``;
the magic hands the value back to the notebook.

This module stays cheap to import: no IPython, ipywidgets, papermill or nbconvert.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from ..core.errors import InvalidInput
from ..version import __version__

if TYPE_CHECKING:
    from pydantic import ValidationError

    from ..client import Client
    from ..core.jobs.models import Job


class UsageProblem(InvalidInput):
    """The words themselves do not parse (unknown option, missing argument). Exit code 2."""

    def __init__(self, message: str, *, usage: str) -> None:
        super().__init__(message, hint=None)
        self.usage = usage


class ArgumentParser(argparse.ArgumentParser):
    """Raises :class:`UsageProblem` instead of exiting, so the magic can show the problem
    without killing the kernel and the CLI can print it its own way."""

    def error(self, message: str) -> NoReturn:
        raise UsageProblem(message, usage=self.format_usage())


def invalid_input_from(exc: ValidationError, what: str) -> InvalidInput:
    """A pydantic error on a request model, as the one-line message an adapter shows."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", ""))
    return InvalidInput(f"Invalid {what}: {'; '.join(parts)}.", hint="See --help for the options.")


class Progress(Protocol):
    def update(self, job: Job) -> None: ...
    def close(self) -> None: ...


class Ui(Protocol):
    """What an adapter provides to show results: text on a terminal, rich output in a notebook."""

    def out(self, text: str) -> None:
        """The result itself (stdout)."""

    def err(self, text: str) -> None:
        """Warnings and remarks (stderr)."""

    def show(self, value: Any, text: str) -> None:
        """Show a result: its text, or a richer view of ``value`` where the adapter has one."""

    def progress(self, job: Job) -> Progress:
        """A live view of a job being waited for."""

    def outcome(self, job: Job) -> None:
        """How a waited-for job ended."""

    def follow(self, client: Client, job: Job) -> None:
        """Keep showing a queued job's progress after the command returned (magic only)."""

    def notebook_path(self, client: Client, path: str) -> str:
        """A notebook path as the user typed it, as the client wants it (relative to its root)."""

    def namespace(self) -> dict[str, Any] | None:
        """The kernel's variables, where the command runs in one (the magic); else None."""

    def load_variables(self, values: dict[str, Any]) -> None:
        """Put ``values`` into the kernel's namespace (the magic only)."""


@dataclasses.dataclass
class Invocation:
    args: argparse.Namespace
    client: Client
    ui: Ui

    @property
    def as_json(self) -> bool:
        return bool(getattr(self.args, "as_json", False))


@dataclasses.dataclass(frozen=True)
class Arg:
    """One argparse argument: ``Arg("-p", "--parameter", dest=..., nargs=2)``."""

    flags: tuple[str, ...]
    options: dict[str, Any]

    def __init__(self, *flags: str, **options: Any) -> None:
        object.__setattr__(self, "flags", flags)
        object.__setattr__(self, "options", options)


@dataclasses.dataclass(frozen=True)
class CommandSpec:
    #: The words that name it: ``("run",)``, ``("jobs", "list")``.
    words: tuple[str, ...]
    help: str
    run: Callable[[Invocation], tuple[Any, int]]
    args: tuple[Arg, ...] = ()
    description: str = ""
    json_flag: bool = True
    #: Other words that name it, not shown in help (kept for scripts written against them).
    hidden_aliases: tuple[tuple[str, ...], ...] = ()
    #: ``%%dataops`` with this command takes ``name = value`` lines as more parameters.
    takes_cell: bool = False
    #: The magic returns the command's value to the notebook (``job = %dataops run ...``).
    returns_value: bool = False
    #: Only in a terminal (``dataops scheduler`` runs a process; a notebook cannot host it).
    cli_only: bool = False


@dataclasses.dataclass(frozen=True)
class Group:
    word: str
    help: str
    description: str = ""
    #: The verb that ``GROUP`` alone (or followed by options) means, e.g. ``jobs`` = ``jobs list``.
    default_verb: str | None = None


def _add_common(parser: argparse.ArgumentParser, *, json_flag: bool) -> None:
    # SUPPRESS: a --root-dir given before the command is not overwritten by this default.
    parser.add_argument(
        "--root-dir",
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="directory that notebook paths are relative to and that jobs may not leave "
        "(default: the current directory; the server's root in a notebook)",
    )
    if json_flag:
        parser.add_argument(
            "--json",
            dest="as_json",
            action="store_true",
            help="print the result as JSON (the REST API's form)",
        )


def _add_command(subparsers: Any, word: str, spec: CommandSpec, *, hidden: bool) -> None:
    kwargs: dict[str, Any] = {"description": spec.description or spec.help}
    if not hidden:
        kwargs["help"] = spec.help
    parser = subparsers.add_parser(word, **kwargs)
    parser.set_defaults(command=spec)
    for arg in spec.args:
        parser.add_argument(*arg.flags, **arg.options)
    _add_common(parser, json_flag=spec.json_flag)


class CommandTable:
    """Groups and commands, and the parser both adapters build from them."""

    def __init__(self, groups: Sequence[Group], commands: Sequence[CommandSpec]) -> None:
        self.groups = {g.word: g for g in groups}
        self.commands = list(commands)

    def build_parser(self, prog: str = "dataops") -> ArgumentParser:
        parser = ArgumentParser(
            prog=prog,
            description="Run notebooks as parameterized jobs and manage them.",
            epilog=f"Examples:\n  {prog} run train.ipynb -p alpha 0.5 --wait\n"
            f"  {prog} jobs list --status failed\n  {prog} jobs show 1a2b",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("--version", action="version", version=f"dataops {__version__}")
        _add_common(parser, json_flag=False)
        top = parser.add_subparsers(metavar="COMMAND", parser_class=ArgumentParser)
        group_parsers: dict[str, Any] = {}
        for word, group in self.groups.items():
            sub = top.add_parser(word, help=group.help, description=group.description or group.help)
            group_parsers[word] = sub.add_subparsers(metavar="ACTION", parser_class=ArgumentParser)
        for spec in self.commands:
            names = [(spec.words, False)] + [(alias, True) for alias in spec.hidden_aliases]
            for words, hidden in names:
                if len(words) == 1:
                    _add_command(top, words[0], spec, hidden=hidden)
                else:
                    _add_command(group_parsers[words[0]], words[1], spec, hidden=hidden)
        return parser

    def parse(
        self, argv: Sequence[str], prog: str = "dataops"
    ) -> tuple[CommandSpec, argparse.Namespace]:
        """Parse words into a command and its arguments. Raises :class:`UsageProblem` (exit
        code 2) on bad words, and ``SystemExit(0)`` after printing ``--help`` or ``--version``."""
        words = list(argv)
        at = 0
        while at < len(words) and words[at].startswith("--root-dir"):
            at += 1 if "=" in words[at] else 2
        # `jobs` alone, or followed by options (`jobs --status failed`), means `jobs list`.
        if at < len(words) and words[at] in self.groups:
            group = self.groups[words[at]]
            following = words[at + 1] if at + 1 < len(words) else None
            if group.default_verb and (
                following is None
                or (following.startswith("-") and following not in ("-h", "--help"))
            ):
                words.insert(at + 1, group.default_verb)
        parser = self.build_parser(prog)
        namespace = parser.parse_args(words)
        spec = getattr(namespace, "command", None)
        if spec is None:
            raise UsageProblem(
                f"a command is required ({', '.join(self.top_words())})",
                usage=parser.format_usage(),
            )
        return spec, namespace

    def top_words(self) -> list[str]:
        words = [s.words[0] for s in self.commands if len(s.words) == 1]
        return [*words, *self.groups]
