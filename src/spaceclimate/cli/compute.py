"""``sco compute``: one command per analytics operation, made from the operation registry.

``sco compute --help`` lists every registered operation (plugins included);
``sco compute OPERATION --help`` lists its inputs with their types, limits, units and
defaults. Inputs are given as options (``--baseline 1981/2010``), as ``-i NAME=VALUE`` pairs
or all at once as ``--inputs JSON``. The operation runs on the hub in ``SCO_HOME`` and its
outputs are printed as JSON.
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Annotated, Any

import typer
import typer.main
from rich.markup import escape
from typer._click import Context as CommandContext
from typer.core import TyperCommand, TyperGroup

from spaceclimate.errors import InputError, SCOError

#: Options every operation command has, besides one option per input.
COMMON = ("input_pairs", "inputs_json", "quiet")


def parse_pairs(pairs: tuple[str, ...] | list[str] | None, raw: str | None) -> dict[str, Any]:
    """Inputs from ``--inputs JSON`` and ``-i NAME=VALUE`` pairs (VALUE is JSON when it is)."""
    inputs: dict[str, Any] = {}
    if raw:
        try:
            loaded = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(f"--inputs: not JSON ({exc.msg})") from exc
        if not isinstance(loaded, dict):
            raise InputError("--inputs: must be a JSON object")
        inputs.update(loaded)
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--input: expected NAME=VALUE, got {pair!r}")
        try:
            inputs[key] = json.loads(value)
        except json.JSONDecodeError:
            inputs[key] = value  # a plain string
    return inputs


def _option_value(name: str, schema: dict[str, Any], text: str) -> Any:
    """An option's text as the input's value: numbers, lists and objects from JSON or commas."""
    kind = schema.get("type")
    if kind in ("number", "integer", "boolean", "object") or text.startswith(("[", "{")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"--{name.replace('_', '-')}: not a valid {kind} ({exc.msg})") from exc
    if kind == "array":
        parts = [p.strip() for p in text.split(",") if p.strip()]
        item = schema.get("items", {}).get("type")
        return [float(p) for p in parts] if item == "number" else parts
    return text


def _help_of(spec: dict[str, Any]) -> str:
    schema = spec["schema"]
    parts = [f"{spec['title']}: {spec['description']}".rstrip(": ")]
    if schema.get("x-sco-units"):
        parts.append(f"Units: {schema['x-sco-units']}.")
    limits = [f"{k} {schema[k]}" for k in ("minimum", "maximum") if k in schema]
    if limits:
        parts.append(", ".join(limits).capitalize() + ".")
    if "enum" in schema:
        parts.append(f"One of: {', '.join(map(str, schema['enum']))}.")
    if spec["required"]:
        parts.append("Required.")
    elif "default" in schema:
        parts.append(f"Default: {schema['default']}.")
    return escape(" ".join(parts))


def operation_command(
    operation: Any, run: Callable[[Any, dict[str, Any], bool], None]
) -> TyperCommand:
    """Return the command of one operation; *run(operation, inputs, quiet)* runs it."""
    specs = {n: s for n, s in operation.input_schemas().items() if n not in COMMON}
    parameters = []
    for name, spec in specs.items():
        option = typer.Option(
            f"--{name.replace('_', '-')}",
            help=_help_of(spec),
            metavar=name.upper(),
            show_default=False,
        )
        parameters.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[str | None, option],
            )
        )
    parameters += [
        inspect.Parameter(
            "input_pairs",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                list[str] | None,
                typer.Option("--input", "-i", help="NAME=VALUE (VALUE parsed as JSON when it is)."),
            ],
        ),
        inspect.Parameter(
            "inputs_json",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                str | None, typer.Option("--inputs", help="All inputs as a JSON object.")
            ],
        ),
        inspect.Parameter(
            "quiet",
            inspect.Parameter.KEYWORD_ONLY,
            default=False,
            annotation=Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")],
        ),
    ]

    def command(**values: Any) -> None:
        inputs = parse_pairs(values.pop("input_pairs"), values.pop("inputs_json"))
        quiet = bool(values.pop("quiet"))
        for name, text in values.items():
            if text is not None:
                inputs[name] = _option_value(name, specs[name]["schema"], str(text))
        run(operation, inputs, quiet)

    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    ecvs = "any ECV" if "*" in operation.ecvs else "ECV " + ", ".join(operation.ecvs)
    outputs = ", ".join(f"{k} ({v.kind})" for k, v in operation.outputs.items())
    single = typer.Typer(add_completion=False)
    single.command(
        operation.id,
        help=escape(
            f"{operation.title}.\n\n{operation.description}\n\nApplies to {ecvs}. "
            f"Outputs: {outputs}."
        ),
        short_help=escape(operation.title),
    )(command)
    made = typer.main.get_command(single)
    assert isinstance(made, TyperCommand)
    return made


def _operations() -> dict[str, Any]:
    """The registered operations, with the indicators imported into the hub in SCO_HOME."""

    from spaceclimate.compute.registry import list_operations
    from spaceclimate.compute.travelling import hub_indicators
    from spaceclimate.config import get_settings

    hub_indicators(get_settings().home)
    return list_operations()


class OperationGroup(TyperGroup):
    """The ``compute`` group: a command for every registered operation, made when asked."""

    def list_commands(self, ctx: CommandContext) -> list[str]:
        """The ids of the registered operations."""
        return list(_operations())

    def get_command(self, ctx: CommandContext, cmd_name: str) -> TyperCommand | None:
        """The command of operation *cmd_name*."""
        operation = _operations().get(cmd_name)
        return None if operation is None else operation_command(operation, _run_guarded)


def _run_guarded(operation: Any, inputs: dict[str, Any], quiet: bool) -> None:
    from spaceclimate.cli.main import _fail

    try:
        run_locally(operation, inputs, quiet)
    except SCOError as exc:
        _fail(exc)


def run_locally(operation: Any, inputs: dict[str, Any], quiet: bool) -> None:
    """Run *operation* on the hub in ``SCO_HOME`` and print its outputs as JSON."""
    from spaceclimate.catalog import open_catalog
    from spaceclimate.cli.main import _progress
    from spaceclimate.config import get_settings
    from spaceclimate.jobs.env import JobEnv
    from spaceclimate.processes import run_operation
    from spaceclimate.store import open_store

    values = operation.validate(inputs)
    settings = get_settings()
    catalog = open_catalog(settings.resolved_catalog_url)
    progress: AbstractContextManager[Callable[[str, int, int], None]]
    progress = _progress(not quiet and sys.stderr.isatty())
    try:
        with progress as update:
            env = JobEnv(
                settings,
                catalog,
                open_store(settings),
                report=lambda f, m: update(m, round(100 * f), 100),
            )
            outputs = run_operation(operation, env, values)
    finally:
        catalog.close()
    typer.echo(json.dumps(outputs, indent=2))


def _listing() -> Iterator[str]:
    from spaceclimate.compute.registry import list_operations

    for operation in list_operations().values():
        yield f"{operation.id}  {operation.title}"
        yield f"    inputs: {', '.join(operation.input_schemas())}"


compute_app = typer.Typer(
    cls=OperationGroup,
    help="Run an analytics operation on the hub in SCO_HOME and print its outputs (JSON). "
    "Example: sco compute area-mean --collection ukmo-ostia-sst-daily --region NAO",
    no_args_is_help=False,
    invoke_without_command=True,
)


@compute_app.callback()
def compute_main(
    ctx: typer.Context,
    list_: bool = typer.Option(False, "--list", help="List the operations and their inputs."),
) -> None:
    """Run an analytics operation on the hub in SCO_HOME and print its outputs (JSON)."""
    if ctx.invoked_subcommand is not None:
        return
    if list_:
        for line in _listing():
            typer.echo(line)
        return
    typer.echo(ctx.get_help())
