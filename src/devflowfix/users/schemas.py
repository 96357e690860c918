"""User management request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from devflowfix.vocabulary import Role

Password = Annotated[str, Field(min_length=8, max_length=1024)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(min_length=3, max_length=320)]
    password: Password
    role: Role = Role.MEMBER


class UserUpdate(BaseModel):
    """Fields to change; a field left out keeps its value."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    is_active: bool | None = Field(default=None, strict=True)
    password: Password | None = None


class TeamUserRead(BaseModel):
    user_id: str
    email: str
    role: Role
    is_active: bool
    team: str
    created_at: datetime


class TeamUserList(BaseModel):
    users: list[TeamUserRead]
    total: int
