"""What is wrong with a template: one problem with its part and line, the exception that carries
them, and Jinja's syntax errors in a recruiter's words."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .limits import EMAIL, PART_LABELS


@dataclass(frozen=True)
class TemplateProblem:
    """One thing wrong with a template part, with the line it is on."""

    message: str
    line: int | None = None
    part: str = ""  # subject | html_body | text_body

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line else self.message


class TemplateInvalid(ValueError):
    """A template that cannot render; ``problems`` say what and where."""

    def __init__(self, problems: list[TemplateProblem], channel: str = EMAIL) -> None:
        self.problems = problems
        self.channel = channel
        super().__init__("; ".join(describe(p, channel) for p in problems))


def describe(problem: TemplateProblem, channel: str) -> str:
    """A problem with its part named: ``HTML body, line 2: unknown merge field …``."""
    label = PART_LABELS.get((channel, problem.part), "")
    if not label:
        return str(problem)
    if problem.line:
        return f"{label}, line {problem.line}: {problem.message}"
    return f"{label}: {problem.message}"


_IF_TAGS = "{% if %}, {% elif %}, {% else %} and {% endif %}"


def _friendly_syntax(message: str) -> str:
    """Jinja's syntax errors in a recruiter's words."""
    if message == "unexpected '}'":
        return "unexpected '}' — end a merge field with }} and a tag with %}."
    if message.startswith("unexpected end of template, expected 'end of print statement'"):
        return "a merge field is not closed: end it with }}."
    if message.startswith("unexpected end of template, expected 'end of statement block'"):
        return "a {% … %} tag is not closed: end it with %}."
    found = re.match(r"expected token 'end of print statement', got '(.*)'", message)
    if found:
        return (
            f"unexpected “{found[1]}” in a merge field — write one field such as "
            "{{ job.name }} and end it with }}."
        )
    found = re.match(r"expected token 'end of statement block', got '(.*)'", message)
    if found:
        return f"unexpected “{found[1]}” in a {{% … %}} tag — end the tag with %}}."
    unclosed = re.search(r"The innermost block that needs to be closed is '(\w+)'", message)
    if message.startswith("Unexpected end of template") and unclosed:
        return f"{{% {unclosed[1]} %}} is not closed: add {{% end{unclosed[1]} %}}."
    unknown = re.match(r"Encountered unknown tag '(\w+)'", message)
    if unknown:
        tag = unknown[1]
        if unclosed:
            return f"unknown tag {{% {tag} %}} here — inside {{% {unclosed[1]} %}} use {_IF_TAGS}."
        if tag in ("endif", "elif", "else"):
            return f"{{% {tag} %}} without an {{% if %}} before it."
        return f"unknown tag {{% {tag} %}} — templates can use {_IF_TAGS}."
    return message
