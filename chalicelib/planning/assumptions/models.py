"""Request and response models for capital market assumption (CMA) sets and portfolio models.

Rates are annual decimal fractions written as strings (`"0.065"` is 6.5%); weights are percentages with two
decimals summing to exactly 100.00. A correlation matrix is a list of rows in the order of the set's asset classes;
`correlation_problem` holds its rules (the database's CHECK cma_correlations_valid repeats all but the eigenvalue
test, which only the API makes).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StrictInt, ValidationInfo, field_validator, model_validator

from chalicelib.core.models import ApiModel, IsoDate, IsoDateTime, StrictModel, decimal_type, iso_date
from chalicelib.core.pagination import ListQuery, ListSpec

Day = iso_date(ge=date(1900, 1, 1), le=date(2099, 12, 31))
Return = decimal_type(9, 6, "-1", "1")
Volatility = decimal_type(9, 6, "0", "2")
Inflation = decimal_type(9, 6, "-0.5", "1")
Correlation = decimal_type(7, 6, "-1", "1")
Weight = decimal_type(5, 2, "0.01", "100")
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$",
                            description="Lower case letters, digits and _; unique in the set")]
SetStatus = Literal["draft", "approved"]
MAX_CLASSES = 50
# How far below zero an eigenvalue may be and still count as zero: rounding in the decomposition, not a defect.
PSD_TOLERANCE = -1e-10


def correlation_problem(matrix: list[list[Decimal]]) -> str | None:
    """What is wrong with a correlation matrix, or None: it must be square, symmetric, with 1 on the diagonal,
    every entry in [-1, 1], and positive semi-definite (its smallest eigenvalue, from numpy's eigvalsh, not below
    PSD_TOLERANCE; the message names that eigenvalue)."""
    n = len(matrix)
    if n == 0:
        return "must have at least one row"
    for i, row in enumerate(matrix):
        if len(row) != n:
            return f"must be square: row {i} has {len(row)} entries, not {n}"
    for i in range(n):
        if matrix[i][i] != 1:
            return f"the diagonal must be 1: entry [{i}][{i}] is {matrix[i][i]}"
        for j in range(n):
            if not -1 <= matrix[i][j] <= 1:
                return f"entries must be in [-1, 1]: entry [{i}][{j}] is {matrix[i][j]}"
            if matrix[i][j] != matrix[j][i]:
                return f"must be symmetric: entry [{i}][{j}] is {matrix[i][j]} but [{j}][{i}] is {matrix[j][i]}"
    import numpy as np

    smallest = float(np.linalg.eigvalsh(np.array([[float(x) for x in row] for row in matrix]))[0])
    if smallest < PSD_TOLERANCE:
        return (f"must be positive semi-definite: its most negative eigenvalue is {smallest:.6g} "
                "(no portfolio can have a negative variance)")
    return None


class AssetClassIn(StrictModel):
    code: Code
    name: str = Field(min_length=1, max_length=200)
    expected_return: Return = Field(description="Expected annual return (arithmetic), a decimal fraction")
    volatility: Volatility = Field(description="Annual volatility (standard deviation), a decimal fraction")


class AssetClassOut(ApiModel):
    code: str
    name: str
    expected_return: Decimal
    volatility: Decimal


def _classes(classes: list[AssetClassIn] | None) -> list[AssetClassIn] | None:
    if classes is not None:
        codes = [c.code for c in classes]
        if len(set(codes)) != len(codes):
            raise ValueError("each code may appear once")
    return classes


def _matrix(matrix: list[list[Decimal]] | None, info: ValidationInfo) -> list[list[Decimal]] | None:
    if matrix is not None:
        classes = info.data.get("asset_classes")  # absent when not sent (a PATCH) or itself invalid
        if classes is not None and len(matrix) != len(classes):
            raise ValueError(f"has {len(matrix)} rows for {len(classes)} asset classes")
        problem = correlation_problem(matrix)
        if problem is not None:
            raise ValueError(problem)
    return matrix


MATRIX_DESCRIPTION = ("The correlation matrix: one row per asset class, in the order of `asset_classes`; square, "
                      "symmetric, 1 on the diagonal, entries in [-1, 1], positive semi-definite")


class CmaSetCreateIn(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    effective_date: Day
    inflation: Inflation = Field(description="Expected annual inflation, a decimal fraction")
    asset_classes: list[AssetClassIn] = Field(min_length=1, max_length=MAX_CLASSES)
    correlations: list[list[Correlation]] = Field(min_length=1, max_length=MAX_CLASSES,
                                                  description=MATRIX_DESCRIPTION)

    _classes = field_validator("asset_classes")(_classes)
    _matrix = field_validator("correlations")(_matrix)


class CmaSetPatchIn(StrictModel):
    """A draft's changes. The classes and the matrix change together (a new list of classes needs its matrix);
    a matrix alone must fit the classes the set has."""

    name: str | None = Field(None, min_length=1, max_length=200)
    effective_date: Day | None = None
    inflation: Inflation | None = None
    asset_classes: list[AssetClassIn] | None = Field(None, min_length=1, max_length=MAX_CLASSES)
    correlations: list[list[Correlation]] | None = Field(None, min_length=1, max_length=MAX_CLASSES,
                                                         description=MATRIX_DESCRIPTION)

    _classes = field_validator("asset_classes")(_classes)
    _matrix = field_validator("correlations")(_matrix)

    @model_validator(mode="after")
    def _together(self) -> CmaSetPatchIn:
        if self.asset_classes is not None and self.correlations is None:
            raise ValueError("asset_classes needs its correlations in the same change")
        return self


class CmaSetOut(ApiModel):
    id: UUID
    name: str
    set_version: int = Field(description="Its number in its line of versions: 1, then one more for each new version")
    root_id: UUID = Field(description="The first version of its line")
    parent_id: UUID | None = Field(description="The set it was made from (null for the first version)")
    effective_date: IsoDate
    inflation: Decimal
    status: SetStatus
    approved_by: UUID | None
    approved_at: IsoDateTime | None
    asset_classes: list[AssetClassOut]
    correlations: list[list[Decimal]]
    created_at: IsoDateTime
    updated_at: IsoDateTime
    version: int = Field(description="The row's version for If-Match (not the set's number: set_version)")


CMA_SETS = ListSpec("cma_sets", {"created_at": (("created_at", "timestamptz"),), "name": (("name", "text"),),
                                 "effective_date": (("effective_date", "date"),)}, "-created_at")


class CmaSetListQuery(ListQuery):
    status: SetStatus | None = None
    root_id: UUID | None = Field(None, description="Only the versions of this line")
    sort: str = CMA_SETS.sort_field("created_at (default newest first), name or effective_date; - for descending")


# --- portfolio models ---

class AllocationIn(StrictModel):
    asset_class: Code
    weight: Weight = Field(description="Percent of the portfolio, 0.01 to 100.00")


class AllocationOut(ApiModel):
    asset_class: str
    weight: Decimal


def _allocations(allocations: list[AllocationIn] | None) -> list[AllocationIn] | None:
    if allocations is not None:
        codes = [a.asset_class for a in allocations]
        if len(set(codes)) != len(codes):
            raise ValueError("each asset class may appear once")
        total = sum((a.weight for a in allocations), Decimal(0))
        if total != Decimal("100.00"):
            raise ValueError(f"weights sum to {total}, not exactly 100.00")
    return allocations


class PortfolioModelCreateIn(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    risk_level: StrictInt = Field(ge=1, le=10, description="1 (lowest) to 10 (highest)")
    cma_set_id: UUID = Field(description="An approved CMA set: the allocation is across its asset classes")
    allocations: list[AllocationIn] = Field(min_length=1, max_length=MAX_CLASSES)

    _allocations = field_validator("allocations")(_allocations)


class PortfolioModelPatchIn(StrictModel):
    """A new set needs its allocation in the same change (the classes are the set's)."""

    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    risk_level: StrictInt | None = Field(None, ge=1, le=10)
    cma_set_id: UUID | None = None
    allocations: list[AllocationIn] | None = Field(None, min_length=1, max_length=MAX_CLASSES)

    _allocations = field_validator("allocations")(_allocations)

    @model_validator(mode="after")
    def _together(self) -> PortfolioModelPatchIn:
        if self.cma_set_id is not None and self.allocations is None:
            raise ValueError("cma_set_id needs its allocations in the same change")
        return self


NULLABLE_MODEL_FIELDS = frozenset({"description"})


class PortfolioModelOut(ApiModel):
    id: UUID
    name: str
    description: str | None
    risk_level: int
    cma_set_id: UUID
    allocations: list[AllocationOut] = Field(description="In the order of the set's asset classes")
    expected_return: Decimal = Field(description=(
        "Derived from the set: the weighted sum of the classes' expected returns (sum of w_i mu_i), 6 decimals"))
    volatility: Decimal = Field(description=(
        "Derived from the set: sqrt(w' S w) with S_ij = rho_ij s_i s_j, 6 decimals"))
    created_at: IsoDateTime
    updated_at: IsoDateTime
    version: int


PORTFOLIO_MODELS = ListSpec("portfolio_models", {"name": (("name", "text"),),
                                                 "risk_level": (("risk_level", "integer"),)}, "name")


class PortfolioModelListQuery(ListQuery):
    cma_set_id: UUID | None = None
    risk_level: int | None = Field(None, ge=1, le=10)
    sort: str = PORTFOLIO_MODELS.sort_field("name (default) or risk_level; - for descending")
