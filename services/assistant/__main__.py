"""Start the assistant: `python -m services.assistant` (settings from the environment)."""

from __future__ import annotations

import sys

from services.assistant.bootstrap import start_assistant
from services.assistant.consultation_service import assistant_engine
from services.assistant.mail import MailSettings
from services.assistant.settings import AssistantSettings
from services.common.grpc_server import Finalizer, RunningServer
from services.common.service_main import finalizer_of, run_service
from services.common.settings import Settings


async def start(
    settings: Settings, assistant_settings: AssistantSettings, finalizers: list[Finalizer]
) -> RunningServer:
    """The channels to lookup and accounts, the engine, and the server answering on them (the server's
    own finalizers close the channels); consultations in the assistant's own database, mailed by SMTP
    or into MEDCODE_DATA_DIR/mail, their events on NATS."""
    mail = MailSettings.from_env(settings.data_dir)
    database = assistant_engine(settings)
    finalizers.append(finalizer_of(database.dispose))
    return await start_assistant(
        settings.assistant_addr,
        settings.lookup_addr,
        settings.accounts_addr,
        assistant_settings,
        consultation_db=database,
        mail=mail,
        nats_url=settings.nats_url,
    )


def run() -> int:
    return run_service("assistant", start, service_settings=[AssistantSettings.from_env])


if __name__ == "__main__":
    sys.exit(run())
