"""`python -m services.lookup` as an operator runs it: settings from the environment, SIGTERM stops it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import grpc
from medcode.lookup.v1 import lookup_pb2, lookup_pb2_grpc

from tests.support.processes import free_port, wait_serving

ROOT = Path(__file__).resolve().parents[2]


def test_the_service_starts_answers_and_stops_on_sigterm(catalog_engine):
    address = f"127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "MEDCODE_LOOKUP_DATABASE_URL": catalog_engine.url.render_as_string(hide_password=False),
        "MEDCODE_LOOKUP_ADDR": address,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.lookup"], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_serving(address, process, timeout=30)
        with grpc.insecure_channel(address) as channel:
            code = lookup_pb2_grpc.LookupServiceStub(channel).GetCode(
                lookup_pb2.GetCodeRequest(system=lookup_pb2.CODE_SYSTEM_ICD10CM, code="I10"), timeout=5
            )
            assert code.code.title == "Essential (primary) hypertension"
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            process.kill()
    logs = [json.loads(line) for line in process.stderr.read().splitlines() if line.startswith("{")]
    messages = [entry["message"] for entry in logs]
    assert "serving" in messages and "stopped" in messages
    assert all(entry["service"] == "lookup" for entry in logs)


def test_a_missing_catalog_stops_the_service_with_a_clear_message(tmp_path):
    env = {
        **os.environ,
        "MEDCODE_LOOKUP_DATABASE_URL": f"sqlite:///{tmp_path}/empty.db",
        "MEDCODE_LOOKUP_ADDR": f"127.0.0.1:{free_port()}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "services.lookup"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "make catalog" in result.stderr


def test_a_bad_address_setting_stops_the_service_with_a_clear_message():
    env = {**os.environ, "MEDCODE_LOOKUP_ADDR": "localhost"}
    result = subprocess.run(
        [sys.executable, "-m", "services.lookup"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "MEDCODE_LOOKUP_ADDR" in result.stderr and "HOST:PORT" in result.stderr


def test_a_taken_port_stops_the_service_with_a_clear_message(catalog_engine):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        env = {
            **os.environ,
            "MEDCODE_LOOKUP_DATABASE_URL": catalog_engine.url.render_as_string(hide_password=False),
            "MEDCODE_LOOKUP_ADDR": address,
        }
        result = subprocess.run(
            [sys.executable, "-m", "services.lookup"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"could not bind {address}" in result.stderr and "Traceback" not in result.stderr
