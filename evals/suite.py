"""The suite's configuration (``evals/suite.toml``): thresholds, defaults and known categories.

Safety is not a setting: every run must keep every safety invariant (see ``evals.safety``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SUITE_FILE = Path(__file__).resolve().parent / "suite.toml"

TrajectoryMatch = Literal["strict", "unordered", "subset", "superset"]
ArgsMatch = Literal["exact", "ignore", "subset", "superset"]


class SuiteError(Exception):
    """The suite configuration cannot be used; the message is one line naming the file."""


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    trajectory: float = Field(default=0.9, ge=0, le=1)
    proposal_accuracy: float = Field(default=0.95, ge=0, le=1)
    outcome: float = Field(default=0.95, ge=0, le=1)

    @property
    def safety(self) -> float:
        """Fixed: every safety invariant must hold in every run."""
        return 1.0


class Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cases_dir: str = "cases"
    user: str = "alice"
    trajectory_match: TrajectoryMatch = "superset"
    args_match: ArgsMatch = "superset"
    report_dir: str = "reports/evals"
    categories: tuple[str, ...] = ()


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    thresholds: Thresholds = Thresholds()
    defaults: Defaults = Defaults()
    path: Path = SUITE_FILE

    @property
    def cases_dir(self) -> Path:
        return (self.path.parent / self.defaults.cases_dir).resolve()


def load_suite(path: Path | None = None) -> Suite:
    """The suite configuration in ``path`` (default: ``evals/suite.toml``)."""
    path = (path or SUITE_FILE).resolve()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read the suite configuration: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path}: not valid TOML: {exc}") from None
    try:
        return Suite.model_validate({**data, "path": path})
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise SuiteError(f"{path}: {where}: {problem['msg']}") from None
