"""The ``grader`` command line: one sub-command per pipeline step.

Each step lives in its own module and exposes a click command; this module only assembles them,
so ``grader --help`` reads like the pipeline: author (new, check, mutants), release, grade, ci,
feedback, report.
"""

from __future__ import annotations

import importlib

import click

from grader.grade import template  # noqa: F401 - first, for its start-up settings

# (module, attribute) of each sub-command, in pipeline order. Imported lazily so that
# `grader --help` and a single command stay quick to start.
COMMANDS: dict[str, tuple[str, str]] = {
    "new": ("grader.author.scaffold", "new_command"),
    "check": ("grader.author.selftest", "check_command"),
    "mutants": ("grader.author.mutants", "mutants_command"),
    "release": ("grader.release", "release_command"),
    "grade": ("grader.grade.command", "grade_command"),
    "ci": ("grader.grade.ci", "ci_command"),
    "feedback": ("grader.feedback", "feedback_command"),
    "report": ("grader.report.command", "report_command"),
    "similarity": ("grader.similarity.command", "similarity_command"),
    "example": ("grader.example", "example_command"),
    "new-term": ("grader.term", "new_term_command"),
    "starter": ("grader.platforms.starter", "starter_command"),
    "gradescope": ("grader.platforms.gradescope", "gradescope_command"),
}


# Commands that grade: they start the grading template before importing their own modules.
GRADING = {"grade", "ci", "example"}


class PipelineGroup(click.Group):
    """A click group that imports each sub-command's module only when it is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name]
        return getattr(importlib.import_module(module), attribute)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        # Only when a grading command is about to run (not for --help): its imports then
        # overlap with the template's.
        if args and args[0] in GRADING and not {"-h", "--help"} & set(args) \
                and not _on_a_cluster(args):
            template.start_for_course(assignment=_assignment_of(args))
        return super().resolve_command(ctx, args)


def _assignment_of(args: list[str]) -> str | None:
    """The assignment a grading command names, if it can be told before parsing it."""
    if "--assignment" in args[:-1]:
        return args[args.index("--assignment") + 1]
    positional = [a for a in args[1:] if not a.startswith("-")]
    if args[0] == "grade" and positional:
        return positional[0]
    return None


def _on_a_cluster(args: list[str]) -> bool:
    """True when ``--cluster ADDRESS`` sends the grading elsewhere (no template needed here)."""
    for index, arg in enumerate(args):
        address = arg.partition("=")[2] if arg.startswith("--cluster=") else \
            (args[index + 1] if arg == "--cluster" and index + 1 < len(args) else None)
        if address is not None:
            return address != "local"
    return False


@click.group(cls=PipelineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="grader")
def main() -> None:
    """Author, release, grade and report an nbgrader course (nbgrader inside)."""
