"""The command line and the configuration file: --check-config, --config, and command-line
values overriding the file's."""
import subprocess

from wsraw import kreuz_bin

GOOD = """
listen:
  - host: 127.0.0.1
    port: 1
websocket:
  max_message_size: 1000
  echo_path: /from-file
realms:
  - name: main
    paths: [/main]
"""

BAD = """realms:
  - name: main
    paths: [/main]
    builtins:
      pong: true
"""


def run(*args, timeout=10):
    return subprocess.run([kreuz_bin(), *args], capture_output=True, text=True, timeout=timeout)


def test_check_config_accepts_a_valid_file(tmp_path):
    f = tmp_path / "good.yaml"
    f.write_text(GOOD)
    r = run("--check-config", str(f))
    assert r.returncode == 0, r.stderr
    assert "configuration is valid" in r.stdout


def test_check_config_names_file_line_and_key(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(BAD)
    r = run("--check-config", str(f))
    assert r.returncode == 1
    assert f"{f}:5:7: realms[0].builtins.pong: unknown key" in r.stderr, r.stderr


def test_check_config_of_a_missing_file(tmp_path):
    r = run("--check-config", str(tmp_path / "absent.yaml"))
    assert r.returncode == 1
    assert "cannot open" in r.stderr


def test_bad_config_refuses_to_start(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(BAD)
    r = run("--config", str(f))
    assert r.returncode == 1
    assert "realms[0].builtins.pong" in r.stderr


def test_contradicting_command_line_refuses_to_start():
    r = run("--max-message-size", "100000000", "--port", "0")
    assert r.returncode == 1
    assert "write_queue_limit (64MiB) must be at least max_message_size (100000000 bytes)" in r.stderr


def test_command_line_overrides_the_file(tmp_path, make_server):
    """The file says port 1, echo on /from-file and a 1000-byte limit; the command line
    moves the port and the echo path and raises the limit."""
    f = tmp_path / "good.yaml"
    f.write_text(GOOD)
    srv = make_server("--config", str(f), "--max-message-size", "2000", echo_path="/echo")
    c = srv.ws("/echo")
    c.send_binary(b"x" * 1500)
    c.expect_message(2, b"x" * 1500)
    c.close_handshake(1000)
    old = srv.client()
    old.handshake("/from-file", expect_status=404)
