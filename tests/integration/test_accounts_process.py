"""`python -m services.accounts` as an operator runs it: it migrates, serves, and SIGTERM stops it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import grpc
from medcode.accounts.v1 import accounts_pb2 as pb
from medcode.accounts.v1 import accounts_pb2_grpc

from tests.support.accounts_server import ADDRESS, ROOT, free_port, start_process, wait_serving


def test_the_service_migrates_serves_and_stops_on_sigterm(tmp_path):
    process, address = start_process(f"sqlite:///{tmp_path}/accounts.db")
    try:
        wait_serving(address, process)
        with grpc.insecure_channel(address) as channel:
            guest = accounts_pb2_grpc.AccountsServiceStub(channel).CreateGuest(
                pb.CreateGuestRequest(client_address=ADDRESS), timeout=5
            )
        assert guest.guest_token.startswith("mcg_")
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
    logs = [json.loads(line) for line in process.stderr.read().splitlines() if line.startswith("{")]
    messages = [entry["message"] for entry in logs]
    assert "accounts schema ready" in messages and "serving" in messages and "stopped" in messages
    assert all(entry["service"] == "accounts" for entry in logs)


def run_expecting_failure(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "MEDCODE_ACCOUNTS_ADDR": f"127.0.0.1:{free_port()}", **env_overrides}
    return subprocess.run(
        [sys.executable, "-m", "services.accounts"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_short_operator_token_stops_the_service_with_a_clear_message(tmp_path):
    result = run_expecting_failure(
        {"MEDCODE_ACCOUNTS_DATABASE_URL": f"sqlite:///{tmp_path}/a.db", "MEDCODE_OPERATOR_TOKEN": "secret"}
    )

    assert result.returncode == 2
    assert "MEDCODE_OPERATOR_TOKEN" in result.stderr and "32 characters" in result.stderr


def test_an_unreachable_database_stops_the_service_with_a_clear_message():
    result = run_expecting_failure(
        {"MEDCODE_ACCOUNTS_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/accounts"}
    )

    assert result.returncode == 2
    assert "the database is not reachable" in result.stderr and "Traceback" not in result.stderr
