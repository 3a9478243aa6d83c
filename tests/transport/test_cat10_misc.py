"""Category 10: a 64 KiB message from the client in 1300-byte frames is echoed intact."""
import pytest

from wsraw import OP_BINARY, OP_TEXT, fragment_frames, make_binary, make_text

KiB = 1024


def _data(opcode, n, seed=0):
    return make_text(n, seed) if opcode == OP_TEXT else make_binary(n, seed)


@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_10_1_64kib_in_1300_byte_frames(server, opcode):
    c = server.ws()
    data = _data(opcode, 64 * KiB, seed=10)
    c.send(fragment_frames(opcode, data, 1300))
    m = c.expect_message(opcode, data)
    assert len(m.payload) == 65536


@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_10_1_64kib_in_1300_byte_frames_chopped(server, opcode):
    c = server.ws()
    data = _data(opcode, 64 * KiB, seed=11)
    c.send(fragment_frames(opcode, data, 1300), chop=[1, 13, 1299, 4096])
    c.expect_message(opcode, data)
