"""Settings read once per process from the environment; every default is the embedded local one."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


class SettingsError(ValueError):
    """A setting is present but unusable; the process must not start."""


def _addr(env: dict[str, str], name: str, default: str) -> str:
    value = env.get(name, default).strip()
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise SettingsError(f"{name}={value!r} is not HOST:PORT (for example 127.0.0.1:50051)")
    return value


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    lookup_addr: str
    accounts_addr: str
    assistant_addr: str
    http_addr: str
    nats_url: str
    log_level: str
    database_urls: dict[str, str] = field(default_factory=dict)

    def database_url(self, service: str) -> str:
        """The SQLAlchemy URL of one service's database (SQLite under the data dir by default)."""
        return self.database_urls.get(service) or f"sqlite:///{self.data_dir / (service + '.db')}"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("MEDCODE_DATA_DIR", "./var")).expanduser().resolve()
        urls = {
            name.removeprefix("MEDCODE_").removesuffix("_DATABASE_URL").lower(): value
            for name, value in env.items()
            if name.startswith("MEDCODE_") and name.endswith("_DATABASE_URL") and value
        }
        level = env.get("MEDCODE_LOG_LEVEL", "INFO").upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise SettingsError(f"MEDCODE_LOG_LEVEL={level!r}: use DEBUG, INFO, WARNING or ERROR")
        return cls(
            data_dir=data_dir,
            lookup_addr=_addr(env, "MEDCODE_LOOKUP_ADDR", "127.0.0.1:50051"),
            accounts_addr=_addr(env, "MEDCODE_ACCOUNTS_ADDR", "127.0.0.1:50052"),
            assistant_addr=_addr(env, "MEDCODE_ASSISTANT_ADDR", "127.0.0.1:50053"),
            http_addr=_addr(env, "MEDCODE_HTTP_ADDR", "127.0.0.1:8080"),
            nats_url=env.get("NATS_URL", "nats://127.0.0.1:4223"),
            log_level=level,
            database_urls=urls,
        )
