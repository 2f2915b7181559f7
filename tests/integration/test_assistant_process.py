"""`python -m services.assistant` as an operator runs it: serves, stops on SIGTERM, refuses bad settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.support.accounts_server import ROOT, free_port, wait_serving


def environment(tmp_path, lookup_port: int, **overrides: str) -> dict[str, str]:
    return {
        **os.environ,
        "MEDCODE_DATA_DIR": str(tmp_path),
        "MEDCODE_LOOKUP_ADDR": f"127.0.0.1:{lookup_port}",
        "MEDCODE_ACCOUNTS_ADDR": f"127.0.0.1:{free_port()}",
        "MEDCODE_ASSISTANT_ADDR": f"127.0.0.1:{free_port()}",
        "NATS_URL": f"nats://127.0.0.1:{free_port()}",
        **overrides,
    }


def test_the_process_serves_and_stops_cleanly_on_sigterm(lookup_server, tmp_path):
    env = environment(tmp_path, lookup_server.port)
    process = subprocess.Popen(
        [sys.executable, "-m", "services.assistant"], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_serving(env["MEDCODE_ASSISTANT_ADDR"], process)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_model_url_without_a_model_name_stops_the_start_with_one_line(lookup_server, tmp_path):
    env = environment(tmp_path, lookup_server.port, MEDCODE_LLM_URL="http://127.0.0.1:9/v1")

    finished = subprocess.run(
        [sys.executable, "-m", "services.assistant"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode == 2
    assert finished.stderr.strip().splitlines() == [
        "assistant: cannot start: MEDCODE_LLM_URL is set but MEDCODE_LLM_MODEL is not: name the model to ask"
    ]
