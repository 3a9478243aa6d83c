#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets into tests/fuzz/corpus/<target>/.

The seeds are small, hand-picked valid and invalid inputs; libFuzzer mutates
them into everything else. They are generated rather than edited because the
frame seeds are masked and compressed bytes, and the production config seed
must follow docker/kreuz.yaml. Run it again after changing either; the output
is deterministic.
"""

import pathlib
import shutil
import zlib

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent

# Byte 0 of the stream targets (fuzz_input.h): bits 0-2 count the piece
# lengths that follow, bits 3-7 are the target's switches.
def stream_input(stream, flags=0, pieces=()):
    assert len(pieces) <= 7 and flags < 32
    return bytes([flags << 3 | len(pieces)]) + bytes(pieces) + stream


# ---------------------------------------------------------------- HTTP

HTTP_SMALL_HEAD, HTTP_FEW_HEADERS, HTTP_REQUIRE_WAMP, HTTP_CHECK_ORIGIN = 1, 2, 4, 8


def request(*lines):
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


BROWSER = request(
    "GET /ws HTTP/1.1",
    "Host: 127.0.0.1:8080",
    "Connection: Upgrade",
    "Pragma: no-cache",
    "Upgrade: websocket",
    "Origin: http://127.0.0.1:8080",
    "Sec-WebSocket-Version: 13",
    "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==",
    "Sec-WebSocket-Protocol: wamp",
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
)
# RFC 6455 section 1.3, followed by the first bytes of a frame that the
# parser must leave alone.
RFC6455 = request(
    "GET /chat HTTP/1.1",
    "Host: server.example.com",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Origin: http://example.com",
    "Sec-WebSocket-Protocol: chat, superchat",
    "Sec-WebSocket-Version: 13",
) + b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
DEFLATE_OFFERS = request(
    "GET /ws?realm=x HTTP/1.1",
    "host: localhost",
    "upgrade: WebSocket",
    "connection: keep-alive, Upgrade",
    "sec-websocket-version: 13",
    "sec-websocket-key: AQIDBAUGBwgJCgsMDQ4PEA==",
    "Sec-WebSocket-Protocol: wamp.2.json, wamp",
    "Sec-WebSocket-Extensions: x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=16",
    'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover; '
    'server_max_window_bits="10"; client_max_window_bits=8, permessage-deflate',
)

HTTP = {
    "browser_upgrade": stream_input(BROWSER),
    "rfc6455_upgrade_then_frame": stream_input(RFC6455),
    "rfc6455_upgrade_cut": stream_input(RFC6455, pieces=(1, 7, 3)),
    "deflate_offers_required_wamp": stream_input(DEFLATE_OFFERS, HTTP_REQUIRE_WAMP, pieces=(16, 0)),
    "plain_get": stream_input(request("GET /index.html HTTP/1.0", "Accept: */*")),
    "post_upgrade": stream_input(BROWSER.replace(b"GET", b"POST", 1)),
    "bad_key": stream_input(BROWSER.replace(b"x3JJHMbDL1EzLkh9GBhXDw==", b"x3JJHMbDL1EzLkh9GBhXD=w=")),
    "version_8": stream_input(BROWSER.replace(b"Version: 13", b"Version: 8")),
    "bare_lf": stream_input(b"GET / HTTP/1.1\nHost: a\n\n"),
    "obs_fold": stream_input(b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n"),
    "space_before_colon": stream_input(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
    "two_hosts": stream_input(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    "http2": stream_input(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
    "too_many_headers": stream_input(BROWSER, HTTP_SMALL_HEAD | HTTP_FEW_HEADERS, pieces=(5,)),
    "allowed_origin": stream_input(BROWSER.replace(b"http://127.0.0.1:8080", b"HTTP://127.0.0.1:8080"),
                                   HTTP_CHECK_ORIGIN),
    "foreign_origin": stream_input(BROWSER.replace(b"http://127.0.0.1:8080", b"https://evil.example"),
                                   HTTP_CHECK_ORIGIN | HTTP_REQUIRE_WAMP),
}

# ---------------------------------------------------------------- frames

FRAME_DEFLATE, FRAME_NO_CONTEXT, FRAME_SMALL = 1, 2, 4
# Switches 3-4 pick the window of the echo compressor (15 when both are off).
ECHO_WINDOW_12, ECHO_WINDOW_9, ECHO_WINDOW_8 = 8, 16, 24
MASK = bytes([0x37, 0xFA, 0x21, 0x3D])  # the key of the RFC 6455 section 5.7 examples


def frame(b0, payload, mask=MASK, length_bytes=None):
    """A client frame; length_bytes forces a (possibly non-minimal) encoding."""
    n = len(payload)
    if length_bytes is None:
        length_bytes = 0 if n < 126 else 2 if n <= 0xFFFF else 8
    header = bytes([b0])
    mask_bit = 0x80 if mask else 0
    if length_bytes == 0:
        header += bytes([mask_bit | n])
    elif length_bytes == 2:
        header += bytes([mask_bit | 126]) + n.to_bytes(2, "big")
    else:
        header += bytes([mask_bit | 127]) + n.to_bytes(8, "big")
    if not mask:
        return header + payload
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def compress(message, window_bits=15):
    """permessage-deflate payload: raw deflate, sync flush, tail removed."""
    c = zlib.compressobj(9, zlib.DEFLATED, -window_bits)
    data = c.compress(message) + c.flush(zlib.Z_SYNC_FLUSH)
    assert data.endswith(b"\x00\x00\xff\xff")
    return data[:-4]


TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA
FIN, RSV1 = 0x80, 0x40
HELLO_DEFLATED = bytes([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])  # RFC 7692 7.2.3.1

FRAMES = {
    # RFC 6455 section 5.7, masked.
    "rfc6455_hello": stream_input(frame(FIN | TEXT, b"Hello")),
    "rfc6455_fragmented_hello": stream_input(frame(TEXT, b"Hel") + frame(FIN | CONT, b"lo"), pieces=(3, 1)),
    "rfc6455_ping_pong": stream_input(frame(FIN | PING, b"Hello") + frame(FIN | PONG, b"Hello")),
    "binary_256_and_nonminimal_length": stream_input(
        frame(FIN | BINARY, bytes(range(256))) + frame(FIN | BINARY, b"abc", length_bytes=8)),
    "ping_inside_fragments_then_close": stream_input(
        frame(TEXT, "grüß ".encode()) + frame(FIN | PING, b"") + frame(FIN | CONT, "dich €".encode())
        + frame(FIN | CLOSE, (1000).to_bytes(2, "big") + b"bye"), pieces=(2, 9, 0, 4)),
    # RFC 7692 section 7.2.3: one message, two sharing the window, a stored
    # block, a final block, and a message in two fragments.
    "rfc7692_hello": stream_input(frame(FIN | RSV1 | TEXT, HELLO_DEFLATED), FRAME_DEFLATE),
    "rfc7692_shared_window": stream_input(
        frame(FIN | RSV1 | TEXT, HELLO_DEFLATED)
        + frame(FIN | RSV1 | TEXT, bytes([0xF2, 0x00, 0x11, 0x00, 0x00])), FRAME_DEFLATE),
    "rfc7692_stored_and_final": stream_input(
        frame(FIN | RSV1 | TEXT, bytes([0x00, 0x05, 0x00, 0xFA, 0xFF]) + b"Hello" + b"\x00")
        + frame(FIN | RSV1 | TEXT, bytes([0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00])),
        FRAME_DEFLATE | FRAME_NO_CONTEXT, pieces=(7,)),
    "rfc7692_fragmented": stream_input(
        frame(RSV1 | TEXT, HELLO_DEFLATED[:3]) + frame(FIN | CONT, HELLO_DEFLATED[3:]), FRAME_DEFLATE | ECHO_WINDOW_12),
    "compressed_wamp_event_window_9": stream_input(
        frame(FIN | RSV1 | TEXT, compress(b'[8,"http://example.com/simple","Hello, I am a simple event."]', 9)),
        FRAME_DEFLATE | ECHO_WINDOW_9),
    "empty_compressed_message": stream_input(frame(FIN | RSV1 | BINARY, b"\x00"), FRAME_DEFLATE | ECHO_WINDOW_8),
    # 2 MiB of zeros in about 2 KiB: must stop at the 1 MiB limit.
    "deflate_bomb": stream_input(frame(FIN | RSV1 | BINARY, compress(bytes(2 << 20))), FRAME_DEFLATE),
    "too_big_for_small_limit": stream_input(frame(FIN | TEXT, b"x" * 1001), FRAME_SMALL),
    "invalid_utf8_in_second_fragment": stream_input(frame(TEXT, b"ok") + frame(FIN | CONT, b"\xed\xa0\x80")),
    "close_1_byte": stream_input(frame(FIN | CLOSE, b"\x03")),
    "unmasked": stream_input(frame(FIN | TEXT, b"Hello", mask=b"")),
    "reserved_opcode": stream_input(frame(FIN | 0x3, b"")),
    "rsv1_without_deflate": stream_input(frame(FIN | RSV1 | TEXT, HELLO_DEFLATED)),
}

# ---------------------------------------------------------------- WAMP

# The examples of the WAMP v1 specification, one or more per message type,
# and a few refusals.
WAMP = {
    "welcome": '[0,"v59mbCGDXZ7WTyxB",1,"Autobahn/0.5.1"]',
    "prefix": '[1,"calc","http://example.com/simple/calc#"]',
    "call_curie": '[2,"7DK6TdN4wLiUJgNM","calc:square",23]',
    "call_objects": '[2,"Yp9EFZt9DFkuKndg","http://example.com/api#keyvalue","key",{"a":[1,2.5,null,true]},-0.0]',
    "call_result_null": '[3,"CcDnuI2bl2oLGBzO",null]',
    "call_result_object": '[3,"otZom9UsJhrnzvLa",{"value1":"23","value2":"singsing","value3":true,'
                          '"modified":"2012-03-29T10:29:16.625Z"}]',
    "call_error": '[4,"gwbN3EDtFv6JvNV5","http://autobahn.tavendo.com/error#generic","math domain error"]',
    "call_error_details": '[4,"7bVW5pv8r60ZeL6u","http://example.com/error#number_too_big",'
                          '"1001 too big for me, max is 1000",1000]',
    "subscribe": '[5,"http://example.com/simple"]',
    "unsubscribe": '[6,"http://example.com/simple"]',
    "publish": '[7,"http://example.com/simple","Hello, world!"]',
    "publish_exclude_me": '[7,"http://example.com/event#myevent2",{"rand":0.09187032734575862,"flag":false,'
                          '"num":23,"name":"Kross","created":"2012-03-29T10:41:09.864Z"},true]',
    "publish_exclude_eligible": '[7,"event:myevent1","hello",["NwtXQ8rdfPsy-ewS"],["dYqgDl0FthI6_hjb",3]]',
    "publish_null_fourth": '[7,"event:myevent1",null,null,["NwtXQ8rdfPsy-ewS"]]',
    "event": '[8,"http://example.com/simple","Hello, I am a simple event. \\u00e4\\ud83d\\ude00 \u00e9"]',
    "prefix_lines": '[1,"calc","http://example.com/simple/calc#"]\n'
                    'calc http://example.com/other#\nhttp http://\n: empty-prefix#\na:b http://x/\n'
                    'calc:square\nhttp://example.com/other#sum\n',
    "unknown_type": '[9,"x"]',
    "not_array": '{"type":2}',
    "empty_prefix": '[1,"","http://x/"]',
    "error_details_null": '[4,"id","http://x/e","d",null]',
    "truncated": '[2,"id","http://x/p",[1,',
    "lone_surrogate": '[8,"t","\\ud800"]',
    "huge_numbers": '[2,"id","p",1e400,18446744073709551615,-9223372036854775808]',
    "deep": "[2," + "[" * 130 + "]" * 130 + "]",
}

# ---------------------------------------------------------------- config

CONFIG = {
    "docker_kreuz": (ROOT / "docker" / "kreuz.yaml").read_text(),
    "default": """listen:
  - host: 127.0.0.1
    port: 8080
log:
  level: info
realms:
  - name: default
    paths: [/ws]
    builtins: {ping: true, echo: true, testee_dispatch: true}
""",
    "rules_and_echo": """listen:
  - {host: "::1", port: 9000}
websocket:
  max_message_size: 64KiB
  write_high_water: 128 KiB
  write_queue_limit: 1MiB
  echo_path: /echo
  ping_interval: 0
  idle_timeout: 2m
  deflate: {enabled: false, min_size: 0, mem_level: 1}
realms:
  - name: rules
    paths: [/a, /b]
    max_message_size: 1024B
    rules:
      - uri: "http://example.com/"
        prefix: true
        publish: false
      - {uri: "http://example.com/rpc#add", call: true, subscribe: false}
""",
    # /dev/null stands for the certificate, key and secret files: the loader
    # only checks that they can be read.
    "tls_auth_roles": """listen:
  - host: 0.0.0.0
    port: 8443
    tls: {cert: /dev/null, key: /dev/null, ca: /dev/null, min_version: "1.3", ciphers: "HIGH"}
websocket:
  max_connections: 100
  max_connections_per_ip: 4
  max_handshakes: 10
  message_rate: 50
  message_burst: 100
realms:
  - name: app
    paths: [/ws]
    allowed_origins: ["https://example.com"]
    auth:
      anonymous: false
      timeout: 30s
      failure_delay: 800ms
      users:
        - {key: alice, secret: "s3cret", role: admin}
        - {key: dave, derived_key: "znWa4bxY1glpbQlZziHIlXA2shfF+HoCr9bnmZ5HPQg=", salt: "RANDOM SALT", iterations: 1000, keylen: 32, role: user}
        - {key: erin, secret: "pw", salt: "S", iterations: 1000, keylen: 32, role: user}
        - {key: frank, secret_env: HOME, role: user}
    roles:
      admin: [{uri: "", prefix: true}]
      user:
        - {uri: "http://example.com/", prefix: true, publish: false}
      anonymous: []
""",
    "empty_secret_file": "realms:\n  - {name: a, paths: [/a], auth: {users: [{key: k, secret_file: /dev/null}]}}\n",
    "comments_only": "# nothing but defaults\n",
    "duplicate_key": "log:\n  level: info\n  level: debug\n",
    "unknown_key_merge": "base: &b {level: info}\nlog:\n  <<: *b\n",
    "two_documents": "log: {level: info}\n---\nlog: {level: off}\n",
    "queue_below_high_water": "websocket:\n  write_high_water: 8MiB\n  write_queue_limit: 4MiB\n",
    "bad_values": "listen:\n  - host: localhost\n    port: 65536\n    backlog: -1\n",
    "echo_path_clash": "websocket:\n  echo_path: /ws\n",
    "syntax_error": "realms: [ {name: a, paths: [/x }\n",
}


def write(target, seeds):
    directory = HERE / "corpus" / target
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    for name, data in seeds.items():
        (directory / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def main():
    write("fuzz_http_request", HTTP)
    write("fuzz_frames", FRAMES)
    write("fuzz_wamp", WAMP)
    write("fuzz_config", CONFIG)
    total = sum(p.stat().st_size for p in (HERE / "corpus").rglob("*") if p.is_file())
    print(f"corpus: {total} bytes")


if __name__ == "__main__":
    main()
