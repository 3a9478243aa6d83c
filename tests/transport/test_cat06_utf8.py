"""Category 6: UTF-8 validation of text messages (RFC 3629), incremental and fail-fast."""
import socket
import time

import pytest

from wsraw import OP_BINARY, OP_CLOSE, OP_CONT, OP_TEXT, build_frame, make_text

VALID = {
    "ascii": b"Hello-World",
    "mixed": "Hello-µ@ßöäüàá-UTF-8!!".encode(),
    "kosme": "κόσμε".encode(),
    "nul": b"\x00",
    "u007f": b"\x7f",
    "u0080": b"\xc2\x80",
    "u07ff": b"\xdf\xbf",
    "u0800": b"\xe0\xa0\x80",
    "ud7ff": b"\xed\x9f\xbf",
    "ue000": b"\xee\x80\x80",
    "ufffd": b"\xef\xbf\xbd",
    "ufffe_nonchar": b"\xef\xbf\xbe",
    "uffff_nonchar": b"\xef\xbf\xbf",
    "ufdd0_nonchar": b"\xef\xb7\x90",
    "u10000": b"\xf0\x90\x80\x80",
    "u1fffe_nonchar": b"\xf0\x9f\xbf\xbe",
    "u10ffff": b"\xf4\x8f\xbf\xbf",
    "emoji": "😀😃😄".encode(),
    "all_lengths": "a\u00e9\u20ac\U0001F600z".encode(),
}

INVALID = {
    "lone_continuation": b"\x80",
    "continuation_bf": b"abc\xbf",
    "overlong_2_c0": b"\xc0\xaf",
    "overlong_2_c1": b"\xc1\xbf",
    "overlong_3": b"\xe0\x80\xaf",
    "overlong_3_max": b"\xe0\x9f\xbf",
    "overlong_4": b"\xf0\x80\x80\xaf",
    "overlong_4_max": b"\xf0\x8f\xbf\xbf",
    "overlong_nul": b"\xc0\x80",
    "surrogate_d800": b"\xed\xa0\x80",
    "surrogate_dbff": b"\xed\xaf\xbf",
    "surrogate_dc00": b"\xed\xb0\x80",
    "surrogate_dfff": b"\xed\xbf\xbf",
    "surrogate_pair": b"\xed\xa0\x80\xed\xb0\x80",
    "above_10ffff": b"\xf4\x90\x80\x80",
    "f5": b"\xf5\x80\x80\x80",
    "f7": b"\xf7\xbf\xbf\xbf",
    "five_byte": b"\xf8\x88\x80\x80\x80",
    "six_byte": b"\xfc\x84\x80\x80\x80\x80",
    "fe": b"\xfe",
    "ff": b"\xff",
    "truncated_2": b"\xce",
    "truncated_3": b"\xe2\x82",
    "truncated_4": b"\xf0\x9f\x98",
    "truncated_then_ascii": b"\xe2\x82a",
    "kosme_surrogate_edited": "κόσμε".encode() + b"\xed\xa0\x80" + b"edited",
    "kosme_above_edited": "κόσμε".encode() + b"\xf4\x90\x80\x80" + b"edited",
    "start_then_start": b"\xc2\xc2",
}


@pytest.mark.parametrize("name", VALID.keys())
def test_valid_text_single_frame(server, name):
    c = server.ws()
    c.echo(OP_TEXT, VALID[name])


@pytest.mark.parametrize("name", VALID.keys())
def test_valid_text_one_byte_per_fragment(server, name):
    """Autobahn 6.2.4 style: each byte in its own frame, code points split everywhere."""
    data = VALID[name]
    c = server.ws()
    frames = [build_frame(OP_TEXT if i == 0 else OP_CONT, data[i:i + 1], fin=(i == len(data) - 1))
              for i in range(len(data))]
    c.send(b"".join(frames))
    c.expect_message(OP_TEXT, data)


def test_valid_text_split_mid_code_point(server):
    c = server.ws()
    data = "κόσμε-€-😀".encode()
    for split in range(1, len(data)):
        c.send(build_frame(OP_TEXT, data[:split], fin=False) + build_frame(OP_CONT, data[split:]))
        c.expect_message(OP_TEXT, data)


def test_valid_text_bytewise_chops(server):
    c = server.ws()
    data = make_text(3000)
    c.send(build_frame(OP_TEXT, data), chop=1)
    c.expect_message(OP_TEXT, data)


def test_invalid_utf8_in_binary_is_fine(server):
    c = server.ws()
    for v in INVALID.values():
        c.echo(OP_BINARY, v)


@pytest.mark.parametrize("name", INVALID.keys())
def test_invalid_text_single_frame_is_1007(server, name):
    c = server.ws()
    c.send_frame(OP_TEXT, INVALID[name])
    c.expect_close(1007)


@pytest.mark.parametrize("name", INVALID.keys())
def test_invalid_text_one_byte_per_fragment_is_1007(server, name):
    data = INVALID[name]
    c = server.ws()
    frames = [build_frame(OP_TEXT if i == 0 else OP_CONT, data[i:i + 1], fin=(i == len(data) - 1))
              for i in range(len(data))]
    c.send(b"".join(frames))
    c.expect_close(1007)


def test_valid_then_invalid_text(server):
    c = server.ws()
    c.send(build_frame(OP_TEXT, "κόσμε".encode()) + build_frame(OP_TEXT, b"\xed\xa0\x80"))
    c.expect_message(OP_TEXT, "κόσμε".encode())
    c.expect_close(1007)


def _expect_close_without_more(c, code, timeout=3.0):
    """The close must arrive although the message is not complete."""
    start = time.monotonic()
    try:
        c.expect_close(code, timeout=timeout)
    except AssertionError as e:
        raise AssertionError(f"fail-fast: {e}") from None
    return time.monotonic() - start


@pytest.mark.parametrize("first,bad", [
    ("κόσμε".encode() + b"\xf4\x90\x80\x80", "above U+10FFFF"),
    (b"abc\xf4\x90", "F4 90 already invalid"),
    (b"Hello \xed\xa0", "surrogate lead ED A0"),
    (b"\xc0", "C0 never valid"),
    (b"xyz\xe0\x80", "overlong E0 80"),
    (b"ok\x80", "stray continuation"),
    (b"\xff", "FF"),
])
def test_fail_fast_first_fragment(server, first, bad):
    """Autobahn 6.4.1/6.4.2: the first fragment (FIN=0) holds an invalid byte; the server fails
    the connection with 1007 without waiting for more fragments."""
    c = server.ws()
    c.send(build_frame(OP_TEXT, first, fin=False))
    _expect_close_without_more(c, 1007)


def test_fail_fast_in_second_fragment(server):
    c = server.ws()
    c.send(build_frame(OP_TEXT, "κόσμε".encode(), fin=False))
    c.send(build_frame(OP_CONT, b"\xed\xa0\x80", fin=False))
    _expect_close_without_more(c, 1007)


def test_fail_fast_code_point_split_across_fragments(server):
    """The lead byte in one fragment, the bad continuation in the next (FIN=0 both)."""
    c = server.ws()
    c.send(build_frame(OP_TEXT, b"abc\xf4", fin=False))
    try:
        f = c.recv_frame(timeout=0.3)
        raise AssertionError(f"F4 alone can still become valid, yet the server sent {f}")
    except socket.timeout:
        pass
    c.send(build_frame(OP_CONT, b"\x90", fin=False))
    _expect_close_without_more(c, 1007)


@pytest.mark.parametrize("prefix,invalid,rest", [
    ("κόσμε".encode(), b"\xf4\x90\x80\x80", b"edited" * 50),
    (b"a" * 1000, b"\xed\xa0", b"\x80" + b"z" * 1000),
    (b"", b"\xc1", b"x" * 100),
    (b"valid \xe2\x82\xac ", b"\xf8", b"more text" * 30),
])
def test_fail_fast_inside_one_frame(server, prefix, invalid, rest):
    """Autobahn 6.4.3/6.4.4: one frame whose payload is sent in parts; after the part that
    contains the invalid byte the Close 1007 must arrive before the rest is sent."""
    payload = prefix + invalid + rest
    frame = build_frame(OP_TEXT, payload)
    header_len = len(frame) - len(payload)
    cut = header_len + len(prefix) + len(invalid)
    c = server.ws()
    c.send(frame[:cut])
    _expect_close_without_more(c, 1007)


def test_fail_fast_invalid_byte_in_large_frame(server):
    """The invalid byte near the start of a frame that declares 1 MiB."""
    c = server.ws()
    payload = b"ok" * 10 + b"\xff" + b"a" * (1 << 20)
    frame = build_frame(OP_TEXT, payload)
    c.send(frame[:14 + 21 + 100])
    _expect_close_without_more(c, 1007)


@pytest.mark.parametrize("pos", [0, 1, 7, 8, 15, 16, 31, 32, 63, 4095, 4096, 4097, 65534, 65535])
def test_invalid_byte_at_word_boundaries(server, pos):
    """A long ASCII/multibyte text with one invalid byte at positions around the word and block
    sizes a fast validator works in."""
    base = bytearray(b"a" * 65536)
    base[pos] = 0xFF
    c = server.ws()
    c.send_frame(OP_TEXT, bytes(base))
    c.expect_close(1007)


@pytest.mark.parametrize("pos", [7, 8, 15, 16, 31, 32, 4095])
def test_truncated_sequence_before_ascii_at_word_boundaries(server, pos):
    base = bytearray(b"b" * 8192)
    base[pos] = 0xE2  # a 3-byte lead followed by ASCII: invalid
    c = server.ws()
    c.send_frame(OP_TEXT, bytes(base))
    c.expect_close(1007)


def test_long_valid_multibyte_text(server):
    c = server.ws()
    data = make_text(300000, seed=5)
    c.send(build_frame(OP_TEXT, data), chop=[4093, 1, 2, 3])
    c.expect_message(OP_TEXT, data, timeout=10)


def test_close_not_data_after_invalid(server):
    """Nothing but the Close comes back after invalid text, even when more valid data follows."""
    c = server.ws()
    c.send(build_frame(OP_TEXT, b"\xc0\xaf") + build_frame(OP_TEXT, b"never echoed"))
    f = c.recv_frame()
    assert f.opcode == OP_CLOSE and f.close_code == 1007, f
    c.expect_eof(2.0)
