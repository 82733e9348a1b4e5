"""Read-only things every handler may need, built once at start-up and passed down."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from region_data.city_policy import (
    CityPolicy,
    PolicyTable,
    ProvincePolicy,
    default_city_policies,
)


@dataclass(frozen=True)
class Context:
    """The validated city/province policy table (and, later, other shared read-only data)."""

    policy: PolicyTable

    @classmethod
    @lru_cache(maxsize=1)
    def default(cls) -> Context:
        return cls(policy=default_city_policies())

    def city(self, name: str | None) -> CityPolicy | None:
        return self.policy.city(name)

    def province(self, name: str | None) -> ProvincePolicy | None:
        return self.policy.province(name)
