"""Errors a user can act on."""
from __future__ import annotations


class ConfigError(ValueError):
    """Invalid configuration; lists every invalid field at once.

    Parameters
    ----------
    problems : list of (field, message)
        ``field`` is a dotted path such as ``"pools[1].fee"``; ``message`` says
        what was given and the accepted range.
    """

    def __init__(self, problems):
        if isinstance(problems, str):
            problems = [("", problems)]
        self.problems = list(problems)
        lines = [f"  {f}: {m}" if f else f"  {m}" for f, m in self.problems]
        super().__init__(
            f"{len(self.problems)} invalid field(s):\n" + "\n".join(lines))


class SolverError(RuntimeError):
    """A numerical solver did not reach an optimal answer after retries."""
