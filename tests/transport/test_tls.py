"""wss://: TLS listeners next to plain ones, third-party clients over TLS, refusals of old
versions and of garbage, the handshake timeout during the TLS handshake, close_notify after the
closing handshake, the write queue limits, and certificate reload on SIGHUP.

A test CA and server certificates are made at run time with the openssl command into tmp_path;
nothing secret is in the repository. Traffic goes to 127.0.0.1 only.
"""
import asyncio
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import warnings

import pytest
import websockets
import websockets.client

from wsraw import (OP_BINARY, OP_TEXT, RawClient, build_frame, free_port, kreuz_bin, make_binary, make_text, t)

KiB = 1024
MiB = 1024 * 1024


# --------------------------------------------------------------------------------------------
# Certificates


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


class Pki:
    """A CA in `directory` that issues server and client certificates for 127.0.0.1."""

    def __init__(self, directory, name="ca"):
        self.dir = directory
        self.name = name
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN=kreuz test {name}",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
        self.ca_file = str(directory / f"{name}.crt")

    def issue(self, name, serial, usage="serverAuth"):
        """Writes NAME.crt and NAME.key (a fresh key) and returns their paths."""
        ext = self.dir / f"{name}.ext"
        ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                       f"extendedKeyUsage={usage}\nsubjectAltName=IP:127.0.0.1\n"
                       "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=self.dir)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{self.name}.crt", "-CAkey", f"{self.name}.key",
                 "-set_serial", str(serial), "-days", "2", "-out", f"{name}.crt", "-extfile", ext.name, cwd=self.dir)
        return str(self.dir / f"{name}.crt"), str(self.dir / f"{name}.key")


def fingerprint_of_file(cert_file):
    with open(cert_file) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path)


def client_context(ca_file, version=None):
    ctx = ssl.create_default_context(cafile=ca_file)
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


def write_config(tmp_path, listeners, name="kreuz.yaml"):
    """JSON is YAML: the config is written with json.dumps. The first listener's host and port
    are replaced by the --host/--port the test server is started with."""
    path = tmp_path / name
    path.write_text(json.dumps({"listen": listeners}))
    return str(path)


def tls_listener(cert, key, **extra):
    return {"host": "127.0.0.1", "port": 0, "tls": {"cert": cert, "key": key, **extra}}


def tls_server(make_server, tmp_path, pki, *flags, log_level="warn", **tls_extra):
    cert, key = pki.issue("server", 1001)
    cfg = write_config(tmp_path, [tls_listener(cert, key, **tls_extra)])
    return make_server("--config", cfg, *flags, log_level=log_level)


def tls_raw(port, ca_file, **kw):
    """A RawClient whose socket speaks TLS. A TCP close without close_notify is an error here
    (an SSLError from recv), so the tests see that the server sends it."""
    c = RawClient(port, **kw)
    ctx = client_context(ca_file)
    # Python's default is to take a bare FIN for a clean end.
    ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF
    c.sock = ctx.wrap_socket(c.sock, server_hostname="127.0.0.1", suppress_ragged_eofs=False)
    return c


def wait_for_log(srv, text, timeout=5.0, count=1):
    deadline = time.monotonic() + t(timeout)
    while time.monotonic() < deadline:
        if srv.log().count(text) >= count:
            return
        srv.check_alive()
        time.sleep(0.02)
    raise AssertionError(f"no log line with {text!r} within {t(timeout)}s\n{srv.log_tail()}")


def expect_closed(sock, timeout=3.0):
    """The server must end the TCP connection within `timeout` (after an alert, perhaps)."""
    sock.settimeout(t(timeout))
    deadline = time.monotonic() + t(timeout)
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return
        except socket.timeout:
            break
        if not data:
            return
    raise AssertionError(f"the server did not close the connection within {t(timeout)}s")


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, t(timeout)))


# --------------------------------------------------------------------------------------------
# Echo with third-party clients

SIZES = [0, 1, 125, 126, 16383, 16384, 16385, 65535, 65536, 100000, 1 << 20]


@pytest.mark.parametrize("compression", [None, "deflate"], ids=["plain", "deflate"])
def test_wss_echo_websockets(make_server, tmp_path, pki, compression):
    srv = tls_server(make_server, tmp_path, pki)

    async def main():
        async with websockets.client.connect(f"wss://127.0.0.1:{srv.port}/echo", ssl=client_context(pki.ca_file),
                                             compression=compression, max_size=None, open_timeout=t(5)) as ws:
            ext = ws.response_headers.get("Sec-WebSocket-Extensions")
            assert ext == (None if compression is None else "permessage-deflate"), ext
            assert ws.transport.get_extra_info("ssl_object").version() == "TLSv1.3"
            for n in SIZES:
                text = make_text(n)
                await ws.send(text)
                assert await ws.recv() == text, f"text echo of {n} bytes"
                data = make_binary(n)
                await ws.send(data)
                assert await ws.recv() == data, f"binary echo of {n} bytes"
            # Many messages queued in one go leave in a few TLS writes.
            sent = [f"message {i} " * (1 + i % 50) for i in range(300)]
            for m in sent:
                await ws.send(m)
            for m in sent:
                assert await ws.recv() == m
        assert ws.close_code == 1000

    run(main())


def test_wss_tls12_client(make_server, tmp_path, pki):
    srv = tls_server(make_server, tmp_path, pki)

    async def main():
        ctx = client_context(pki.ca_file, ssl.TLSVersion.TLSv1_2)
        async with websockets.client.connect(f"wss://127.0.0.1:{srv.port}/echo", ssl=ctx, max_size=None,
                                             open_timeout=t(5)) as ws:
            ssl_object = ws.transport.get_extra_info("ssl_object")
            assert ssl_object.version() == "TLSv1.2"
            assert "GCM" in ssl_object.cipher()[0] or "CHACHA20" in ssl_object.cipher()[0], ssl_object.cipher()
            data = make_binary(1 << 20)
            await ws.send(data)
            assert await ws.recv() == data

    run(main())


def test_plain_and_tls_listeners_at_once(make_server, tmp_path, pki):
    cert, key = pki.issue("server", 1001)
    plain_port = free_port()
    cfg = write_config(tmp_path, [tls_listener(cert, key), {"host": "127.0.0.1", "port": plain_port}])
    srv = make_server("--config", cfg, log_level="info")
    assert f"listening on 127.0.0.1:{srv.port} (TLS)" in srv.log()
    assert f"listening on 127.0.0.1:{plain_port}\n" in srv.log()

    with tls_raw(srv.port, pki.ca_file) as secure, RawClient(plain_port) as plain:
        secure.handshake("/echo")
        plain.handshake("/echo")
        for n in (10, 70000, 1 << 20):
            secure.echo(OP_BINARY, make_binary(n))
            plain.echo(OP_BINARY, make_binary(n))
        secure.close_handshake()
        plain.close_handshake()

    # Each port speaks only its own protocol.
    with socket.create_connection(("127.0.0.1", srv.port), timeout=t(5)) as s:
        s.sendall(b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        expect_closed(s)
    wait_for_log(srv, "http request")
    with socket.create_connection(("127.0.0.1", plain_port), timeout=t(5)) as s:
        with pytest.raises(ssl.SSLError):
            client_context(pki.ca_file).wrap_socket(s, server_hostname="127.0.0.1")


def test_http_response_over_tls(make_server, tmp_path, pki):
    """A rejected upgrade is answered over TLS, followed by close_notify."""
    srv = tls_server(make_server, tmp_path, pki)
    with tls_raw(srv.port, pki.ca_file) as c:
        c.send(b"GET /no-such-path HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        response = c.read_http_response()
        assert response.status == 404
        c.expect_eof(what="after the 404")


# --------------------------------------------------------------------------------------------
# Closing


def test_close_notify_after_client_close(make_server, tmp_path, pki):
    srv = tls_server(make_server, tmp_path, pki)
    with tls_raw(srv.port, pki.ca_file) as c:
        c.handshake("/echo")
        c.echo(OP_TEXT, b"hello")
        # expect_eof fails with SSLEOFError unless close_notify comes before the FIN.
        c.close_handshake(1000)


def test_close_notify_after_server_close(make_server, tmp_path, pki):
    srv = tls_server(make_server, tmp_path, pki)
    with tls_raw(srv.port, pki.ca_file) as c:
        c.handshake("/echo")
        c.send_frame(OP_TEXT, b"\xff\xfe")  # invalid UTF-8: the server fails the connection
        c.expect_close(1007)


def test_shutdown_closes_wss_with_1001(make_server, tmp_path, pki):
    srv = tls_server(make_server, tmp_path, pki)
    with tls_raw(srv.port, pki.ca_file) as c:
        c.handshake("/echo")
        c.echo(OP_TEXT, b"before shutdown")
        srv.terminate()
        c.expect_close(1001, eof_timeout=None)
        c.send_close(1001)
        assert srv.wait(t(10)) == 0


# --------------------------------------------------------------------------------------------
# Refusals


def test_tls11_client_refused(make_server, tmp_path, pki):
    srv = tls_server(make_server, tmp_path, pki, log_level="info")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(pki.ca_file)
        # The client's own OpenSSL offers TLS 1.1 only at security level 0.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", srv.port), timeout=t(5)) as s:
        with pytest.raises(ssl.SSLError, match="(?i)protocol.version"):
            ctx.wrap_socket(s, server_hostname="127.0.0.1")
    wait_for_log(srv, "unsupported protocol")
    assert "TLS failure with 127.0.0.1:" in srv.log()


def test_min_version_13_refuses_tls12(make_server, tmp_path, pki):
    srv = tls_server(make_server, tmp_path, pki, min_version="1.3")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=t(5)) as s:
        with pytest.raises(ssl.SSLError):
            client_context(pki.ca_file, ssl.TLSVersion.TLSv1_2).wrap_socket(s, server_hostname="127.0.0.1")
    with tls_raw(srv.port, pki.ca_file) as c:
        assert c.sock.version() == "TLSv1.3"
        c.handshake("/echo")
        c.echo(OP_TEXT, b"1.3 only")


def test_handshake_timeout_without_client_hello(make_server, tmp_path, pki):
    srv = tls_server(make_server, tmp_path, pki, "--handshake-timeout-ms", "500", log_level="info")
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=t(5)) as s:
        expect_closed(s, timeout=3.0)
    assert time.monotonic() - start >= 0.4
    wait_for_log(srv, "TLS handshake with 127.0.0.1:")
    assert "not finished within 500 ms" in srv.log()

    # A ClientHello sent byte by byte too slowly runs into the same deadline.
    with socket.create_connection(("127.0.0.1", srv.port), timeout=t(5)) as s:
        s.sendall(b"\x16\x03\x01\x02\x00\x01")
        expect_closed(s, timeout=3.0)


GARBAGE = [
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    bytes(range(256)) * 8,
    b"\x16\x03\x01\xff\xff" + b"\x01" * 100,                   # a record longer than TLS allows
    b"\x16\x03\x01\x00\x30\x01\x00\x00\x2c" + b"\xee" * 44,    # a ClientHello of nonsense
    b"\x15\x03\x03\x00\x02\x02\x28",                            # an alert before any hello
    b"\x17\x03\x03\x00\x10" + b"\x00" * 16,                     # application data before the handshake
]


@pytest.mark.parametrize("garbage", GARBAGE, ids=["http", "bytes", "long-record", "bad-hello", "alert", "appdata"])
def test_garbage_instead_of_client_hello(make_server, tmp_path, pki, garbage):
    srv = tls_server(make_server, tmp_path, pki, log_level="info")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=t(5)) as s:
        s.sendall(garbage)
        expect_closed(s)
    wait_for_log(srv, "TLS failure with 127.0.0.1:")
    with tls_raw(srv.port, pki.ca_file) as c:
        c.handshake("/echo")
        c.echo(OP_TEXT, b"still serving")


def test_random_bytes_after_the_handshake(make_server, tmp_path, pki):
    """Bytes that are not a TLS record, sent on an established session, fail it."""
    srv = tls_server(make_server, tmp_path, pki, log_level="info")
    with tls_raw(srv.port, pki.ca_file) as c:
        c.handshake("/echo")
        # Under the TLS layer, on the same socket: a record that does not decrypt.
        plain = socket.socket(fileno=os.dup(c.sock.fileno()))
        try:
            plain.sendall(b"\x17\x03\x03\x00\x20" + os.urandom(32))
            expect_closed(plain)
        finally:
            plain.close()
    wait_for_log(srv, "TLS failure with 127.0.0.1:")


# --------------------------------------------------------------------------------------------
# Write queue


def test_tls_slow_consumer_is_dropped(make_server, tmp_path, pki):
    """The queue limits count plaintext as on a plain connection: a wss peer that sends but never
    reads is closed after slow_consumer_timeout while another is served."""
    srv = tls_server(make_server, tmp_path, pki, "--write-high-water", "65536", "--slow-consumer-timeout-ms", "500")
    good = tls_raw(srv.port, pki.ca_file)
    good.handshake("/echo")
    hog = tls_raw(srv.port, pki.ca_file, rcvbuf=4096)
    hog.handshake("/echo")
    frame = build_frame(OP_BINARY, make_binary(16 * KiB))
    stop = threading.Event()
    sent = [0]

    def flood():
        hog.sock.settimeout(t(1))
        deadline = time.monotonic() + t(10)
        while not stop.is_set() and time.monotonic() < deadline and sent[0] < 256 * MiB:
            try:
                hog.sock.sendall(frame)
                sent[0] += len(frame)
            except (socket.timeout, OSError, ssl.SSLError):
                return

    thread = threading.Thread(target=flood, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + t(8)
        while "slow consumer" not in srv.log() and time.monotonic() < deadline:
            good.echo(OP_TEXT, b"good", timeout=3)
            time.sleep(0.05)
        assert "slow consumer" in srv.log(), f"not dropped after {sent[0]} bytes\n{srv.log_tail()}"
        good.echo(OP_TEXT, b"still served", timeout=3)
    finally:
        stop.set()
        thread.join(t(15))
    assert srv.rss_kib() < 200 * 1024
    good.close_handshake()


# --------------------------------------------------------------------------------------------
# Client certificates


def test_client_certificates_with_ca(make_server, tmp_path, pki):
    client_cert, client_key = pki.issue("client", 2001, usage="clientAuth")
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    stranger = Pki(other_dir, "stranger-ca")
    stranger_cert, stranger_key = stranger.issue("stranger", 3001, usage="clientAuth")
    srv = tls_server(make_server, tmp_path, pki, log_level="info", ca=pki.ca_file)

    def connect(cert=None, key=None):
        ctx = client_context(pki.ca_file)
        if cert:
            ctx.load_cert_chain(cert, key)
        c = RawClient(srv.port)
        c.sock = ctx.wrap_socket(c.sock, server_hostname="127.0.0.1")
        return c

    with connect(client_cert, client_key) as c:
        c.handshake("/echo")
        c.echo(OP_TEXT, b"with a certificate")
    with connect() as c:
        c.handshake("/echo")
        c.echo(OP_TEXT, b"without one")
    # TLS 1.3 checks the client's certificate after the client has finished: the failure
    # arrives as an alert on the first read.
    with pytest.raises((ssl.SSLError, ConnectionError, AssertionError)):
        with connect(stranger_cert, stranger_key) as c:
            c.handshake("/echo")
    wait_for_log(srv, "certificate")
    assert "TLS failure" in srv.log()


# --------------------------------------------------------------------------------------------
# Configuration


def test_config_names_the_missing_certificate(tmp_path, pki):
    cert, key = pki.issue("server", 1001)
    cfg = write_config(tmp_path, [tls_listener(str(tmp_path / "missing.crt"), key)])
    r = subprocess.run([kreuz_bin(), "--check-config", cfg], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "listen[0].tls.cert: cannot read" in r.stderr and "missing.crt" in r.stderr, r.stderr


def test_unusable_certificate_stops_the_start(tmp_path, pki):
    cert, key = pki.issue("server", 1001)
    other_cert, _ = pki.issue("other", 1002)
    cfg = write_config(tmp_path, [tls_listener(other_cert, key)])
    r = subprocess.run([kreuz_bin(), "--config", cfg, "--port", str(free_port())], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1
    assert "does not belong to the certificate" in r.stderr, r.stderr


# --------------------------------------------------------------------------------------------
# Reload


def peer_fingerprint(port, ca_file):
    """The certificate a new connection is served, after a full WebSocket echo on it."""
    with tls_raw(port, ca_file) as c:
        c.handshake("/echo")
        c.echo(OP_TEXT, b"new connection")
        der = c.sock.getpeercert(binary_form=True)
        c.close_handshake()
    return hashlib.sha256(der).hexdigest()


def test_sighup_reloads_the_certificate(make_server, tmp_path, pki):
    cert, key = pki.issue("server", 1001)
    first = fingerprint_of_file(cert)
    cfg = write_config(tmp_path, [tls_listener(cert, key)])
    srv = make_server("--config", cfg, log_level="info")

    old = tls_raw(srv.port, pki.ca_file)
    old.handshake("/echo")
    old.echo(OP_TEXT, b"before reload")
    assert hashlib.sha256(old.sock.getpeercert(binary_form=True)).hexdigest() == first

    # A renewed certificate with a new key, in place of the old files.
    renewed_cert, renewed_key = pki.issue("renewed", 1002)
    os.replace(renewed_cert, cert)
    os.replace(renewed_key, key)
    second = fingerprint_of_file(cert)
    assert second != first
    os.kill(srv.pid, signal.SIGHUP)
    wait_for_log(srv, f"TLS certificate on 127.0.0.1:{srv.port} reloaded")

    old.echo(OP_BINARY, make_binary(1 << 20))  # the session that started before goes on
    assert peer_fingerprint(srv.port, pki.ca_file) == second

    # A broken file: the reload fails with a reason, the certificate in use stays.
    with open(cert, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    os.kill(srv.pid, signal.SIGHUP)
    wait_for_log(srv, f"TLS reload on 127.0.0.1:{srv.port} failed, the certificate in use stays")
    line = next(x for x in srv.log().splitlines() if "TLS reload on" in x)
    assert "cannot load the certificate chain from " + cert in line, line
    assert peer_fingerprint(srv.port, pki.ca_file) == second
    old.echo(OP_TEXT, b"after the failed reload")

    # A missing key file fails the same way.
    os.unlink(key)
    os.kill(srv.pid, signal.SIGHUP)
    wait_for_log(srv, "TLS reload on", count=2)
    assert peer_fingerprint(srv.port, pki.ca_file) == second
    old.close_handshake()


def test_sighup_without_tls_listeners_is_harmless(make_server):
    srv = make_server(log_level="info")
    os.kill(srv.pid, signal.SIGHUP)
    wait_for_log(srv, "received SIGHUP")
    with srv.ws() as c:
        c.echo(OP_TEXT, b"still here")
